/**
 * Messages between a worker process's main thread and its command threads (discriminated unions, as in
 * Temporal's `input.ts` / `output.ts`). Errors cross as {@link SerializedAppError}.
 */
import type { CommandEnvelope, CommandOutcome } from "../commands/envelope";
import type { SerializedAppError } from "../errors";

/** A command sent to a thread, with the id its outcome comes back under. */
export interface ThreadCommand {
  readonly id: number;
  readonly envelope: CommandEnvelope;
}

/** A command's outcome, under the id it was sent with. */
export interface ThreadOutcome {
  readonly id: number;
  readonly outcome: CommandOutcome;
}

/**
 * Main thread -> command thread. Commands go in batches: all those handed to a thread in one tick share one
 * message (one structured clone, one wake-up of the thread).
 */
export type ThreadInput =
  | { readonly kind: "commands"; readonly commands: readonly ThreadCommand[] }
  | { readonly kind: "shutdown" };

/**
 * Command thread -> main thread. Outcomes go in batches too (those settled in one tick: usually a whole
 * group commit), so the main thread answers them in one task and NATS sends their replies in one write.
 */
export type ThreadOutput =
  | { readonly kind: "ready" }
  | { readonly kind: "outcomes"; readonly outcomes: readonly ThreadOutcome[] }
  | { readonly kind: "fatal"; readonly error: SerializedAppError }
  | { readonly kind: "stopped" };

/** What every command thread is started with (its `workerData`). */
export interface CommandThreadData {
  readonly databaseUrl: string;
  /** Connections this thread opens: the number of transactions (batches) it runs at once. */
  readonly poolSize: number;
  /** Most commands in one transaction. */
  readonly maxBatch: number;
  /** Commands that must be waiting to start a transaction beside a running one (see mailboxes.ts). */
  readonly minBatchWhileBusy?: number;
  readonly logLevel: string;
  readonly threadIndex: number;
}
