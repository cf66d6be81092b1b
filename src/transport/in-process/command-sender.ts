/**
 * The command path inside one process (embedded mode): the gateway's {@link CommandSender} hands each
 * envelope straight to a command runtime (per-aggregate mailboxes in front of the group-commit executor, see
 * `src/actors/command-thread.ts`), the very code a worker thread runs. So ordering per aggregate,
 * idempotency (`command_results`) and the outcomes are the real tier's; only the bus between them is gone.
 * The runtime is made by the caller (the embedded mode), so this transport knows only the contracts.
 *
 * Deadlines behave as on JetStream: the caller stops waiting at its deadline (DEADLINE_EXCEEDED), while a
 * command already queued may still be applied; the executor does not start one whose deadline has passed.
 */

import type { CommandEnvelope, CommandOutcome, CommandSender } from "../../contracts";
import { AppError } from "../../errors";
import type { Logger } from "../../logging";
import { traceparentOf, tracingOn } from "../../tracing";

/** What applies the commands: submit an envelope, get its outcome (a worker's command runtime). */
export interface CommandRunner {
  submit(envelope: CommandEnvelope): Promise<CommandOutcome>;
  /** Resolves once every submitted command is answered. */
  idle(): Promise<void>;
}

/** Options of {@link createInProcessCommandSender}. */
export interface InProcessCommandSenderOptions<R extends CommandRunner> {
  /** Applies the commands (`createCommandRuntime` of src/actors). */
  readonly runtime: R;
  /** How long a caller without a deadline waits, ms. */
  readonly defaultTimeoutMs: number;
  /** Called after each command the executor applied (not a duplicate) that emitted events, e.g. to wake the relay. */
  readonly onCommitted?: (outcome: CommandOutcome) => void;
  readonly log?: Logger;
}

/** A sender whose runtime can also be waited on. */
export interface InProcessCommandSender<R extends CommandRunner = CommandRunner> extends CommandSender {
  /** The mailboxes and executor behind the sender. */
  readonly runtime: R;
}

/** Creates the in-process sender in front of `options.runtime`. */
export function createInProcessCommandSender<R extends CommandRunner>(
  options: InProcessCommandSenderOptions<R>,
): InProcessCommandSender<R> {
  const runtime = options.runtime;
  let closed = false;

  async function apply(envelope: CommandEnvelope): Promise<CommandOutcome> {
    let outcome: CommandOutcome;
    try {
      // The embedded mode's worker continues the gateway's span (JetStream carries it in a header).
      outcome = await runtime.submit(tracingOn() ? { ...envelope, traceparent: traceparentOf() } : envelope);
    } catch (error) {
      outcome = { ok: false, error: AppError.from(error).serialize() };
    }
    if (outcome.ok && !outcome.result.duplicate && outcome.result.events.length > 0) {
      try {
        options.onCommitted?.(outcome);
      } catch (error) {
        options.log?.warn({ error: String(error) }, "onCommitted callback failed");
      }
    }
    return outcome;
  }

  return {
    runtime,
    async send(envelope, sendOptions) {
      if (closed) throw new AppError("UNAVAILABLE", "the server is shutting down");
      const timeoutMs =
        envelope.deadline === undefined ? options.defaultTimeoutMs : envelope.deadline - Date.now();
      if (timeoutMs <= 0)
        throw new AppError("DEADLINE_EXCEEDED", "deadline exceeded before the command was sent");
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = sendOptions?.signal ? AbortSignal.any([timeout, sendOptions.signal]) : timeout;
      if (signal.aborted) throw new AppError("CANCELLED", "cancelled by the caller");
      const aborted = new Promise<never>((_, reject) => {
        signal.addEventListener(
          "abort",
          () =>
            reject(
              timeout.aborted
                ? new AppError(
                    "DEADLINE_EXCEEDED",
                    "the command was accepted but no result arrived before the deadline; retry with the same command_id",
                  )
                : new AppError("CANCELLED", "cancelled by the caller"),
            ),
          { once: true },
        );
      });
      aborted.catch(() => {});
      return Promise.race([apply(envelope), aborted]);
    },
    async close() {
      closed = true;
      await runtime.idle();
    },
  };
}
