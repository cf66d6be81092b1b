/**
 * Wrappers of the command handler that every command thread puts around its mailboxes: logging each
 * command, and waking the outbox relay after commands that wrote events.
 */
import type { CommandHandler } from "../contracts";
import type { Logger } from "../logging";

/**
 * Wraps a command handler so that the outbox relay is woken once per turn of the event loop after commands
 * that wrote events (instead of a NOTIFY inside every transaction, see sql/0012_outbox_wake.sql).
 *
 * The wake-up is published after the turn (`setImmediate`), so it never goes ahead of the answers: nats.js
 * writes what was published at the end of the current microtasks, and a wake-up published there first took
 * its own socket write in front of the answers (about 0.05 ms each at concurrency 1). The relay gets it a
 * turn later, which is nothing against its round.
 */
export function wakeRelayAfterEvents(handler: CommandHandler, wake: () => void): CommandHandler {
  let scheduled = false;
  return async (envelope) => {
    const outcome = await handler(envelope);
    if (outcome.ok && !outcome.result.duplicate && outcome.result.events.length > 0 && !scheduled) {
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        wake();
      });
    }
    return outcome;
  };
}

/**
 * The handler, logging every command with its ids: at debug when it succeeded or a rule refused it, at warn
 * when it failed for another reason (INTERNAL, UNAVAILABLE, ...).
 */
export function logged(log: Logger, handler: CommandHandler): CommandHandler {
  const ruled = new Set([
    "INVALID_ARGUMENT",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "FAILED_PRECONDITION",
    "ABORTED",
    "PERMISSION_DENIED",
  ]);
  return async (envelope) => {
    const started = performance.now();
    const outcome = await handler(envelope);
    const fields = {
      commandId: envelope.commandId,
      aggregateId: envelope.aggregateId,
      commandType: envelope.commandType,
      ms: Math.round((performance.now() - started) * 10) / 10,
    };
    if (outcome.ok)
      log.debug(
        { ...fields, version: outcome.result.version, duplicate: outcome.result.duplicate },
        "command applied",
      );
    else if (ruled.has(outcome.error.code))
      log.debug({ ...fields, code: outcome.error.code }, "command refused");
    else log.warn({ ...fields, code: outcome.error.code, error: outcome.error.message }, "command failed");
    return outcome;
  };
}
