/**
 * The command path inside one process (embedded mode): the gateway's {@link CommandSender} hands each
 * envelope straight to a command runtime (per-aggregate mailboxes in front of the group-commit executor, see
 * `src/actors/command-thread.ts`), the very code a worker thread runs. So ordering per aggregate,
 * idempotency (`command_results`) and the outcomes are the real tier's; only the bus between them is gone.
 *
 * Deadlines behave as on JetStream: the caller stops waiting at its deadline (DEADLINE_EXCEEDED), while a
 * command already queued may still be applied; the executor does not start one whose deadline has passed.
 */
import { type CommandRuntime, createCommandRuntime } from "../../actors/command-thread";
import type { CommandEnvelope, CommandOutcome, CommandSender } from "../../commands/envelope";
import type { TransactionClient } from "../../commands/executor";
import { AppError } from "../../errors";

/** Options of {@link createInProcessCommandSender}. */
export interface InProcessCommandSenderOptions {
  /** Takes a connection for one transaction (the embedded pool's). */
  readonly connect: () => Promise<TransactionClient>;
  /** Transactions in flight at once (at most the pool's size). */
  readonly concurrency: number;
  /** Most commands in one transaction (default: see `CommandRuntimeOptions.maxBatch`). */
  readonly maxBatch?: number;
  /** How long a caller without a deadline waits, ms. */
  readonly defaultTimeoutMs: number;
  /** Called after each command the executor applied (not a duplicate) that emitted events, e.g. to wake the relay. */
  readonly onCommitted?: (outcome: CommandOutcome) => void;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** A sender whose runtime can also be waited on. */
export interface InProcessCommandSender extends CommandSender {
  /** The mailboxes and executor behind the sender. */
  readonly runtime: CommandRuntime;
}

/** Creates the in-process sender and its runtime. */
export function createInProcessCommandSender(options: InProcessCommandSenderOptions): InProcessCommandSender {
  const runtime = createCommandRuntime({
    connect: options.connect,
    concurrency: options.concurrency,
    ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  let closed = false;

  async function apply(envelope: CommandEnvelope): Promise<CommandOutcome> {
    let outcome: CommandOutcome;
    try {
      outcome = await runtime.submit(envelope);
    } catch (error) {
      outcome = { ok: false, error: AppError.from(error).serialize() };
    }
    if (outcome.ok && !outcome.result.duplicate && outcome.result.events.length > 0) {
      try {
        options.onCommitted?.(outcome);
      } catch (error) {
        options.log?.("onCommitted callback failed", { error: String(error) });
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
