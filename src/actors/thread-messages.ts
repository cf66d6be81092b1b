/**
 * Messages between a worker process's main thread and its command threads (discriminated unions, as in
 * Temporal's `input.ts` / `output.ts`). Errors cross as {@link SerializedAppError}.
 */
import type { CommandEnvelope, CommandOutcome } from "../commands/envelope";
import type { SerializedAppError } from "../errors";

/** Main thread -> command thread. */
export type ThreadInput =
  | { readonly kind: "command"; readonly id: number; readonly envelope: CommandEnvelope }
  | { readonly kind: "shutdown" };

/** Command thread -> main thread. */
export type ThreadOutput =
  | { readonly kind: "ready" }
  | { readonly kind: "outcome"; readonly id: number; readonly outcome: CommandOutcome }
  | { readonly kind: "fatal"; readonly error: SerializedAppError }
  | { readonly kind: "stopped" };

/** What every command thread is started with (its `workerData`). */
export interface CommandThreadData {
  readonly databaseUrl: string;
  /** Connections this thread opens: the number of transactions (batches) it runs at once. */
  readonly poolSize: number;
  /** Most commands in one transaction. */
  readonly maxBatch: number;
  readonly logLevel: string;
  readonly threadIndex: number;
}
