/**
 * Messages between a worker process's main thread and its command threads (discriminated unions, as in
 * Temporal's `input.ts` / `output.ts`). Errors cross as {@link SerializedAppError}. Commands themselves do
 * not cross: a thread consumes its partitions from NATS and answers the gateways itself.
 */
import type { TracingConfig } from "../config";
import type { SerializedAppError } from "../errors";

/** Main thread -> command thread. */
export type ThreadInput =
  /** Consume this partition's durable consumer (recreated just before by the main thread). */
  | {
      readonly kind: "consume";
      readonly partition: number;
      readonly durable: string;
      /** Messages to pull ahead (at most the consumer's max_ack_pending). */
      readonly maxMessages: number;
    }
  /** Stop consuming it once its commands in flight are answered and acked. */
  | { readonly kind: "release"; readonly partition: number }
  /** Release every partition, close the connections, exit. */
  | { readonly kind: "shutdown" };

/** One command's execution, timed in the thread, for the main thread's metrics. */
export interface ThreadExecution {
  readonly commandType: string;
  /** `ok` or the error code. */
  readonly outcome: string;
  readonly seconds: number;
}

/** Command thread -> main thread. */
export type ThreadOutput =
  | { readonly kind: "ready" }
  | { readonly kind: "fatal"; readonly error: SerializedAppError }
  | { readonly kind: "consuming"; readonly partition: number }
  | { readonly kind: "consume-failed"; readonly partition: number; readonly error: SerializedAppError }
  | { readonly kind: "released"; readonly partition: number }
  /** The executions finished in one tick (usually a whole group commit). */
  | { readonly kind: "executions"; readonly executions: readonly ThreadExecution[] }
  | { readonly kind: "stopped" };

/** What every command thread is started with (its `workerData`). */
export interface CommandThreadData {
  readonly databaseUrl: string;
  readonly natsUrl: string;
  /** NATS subject and stream prefix. */
  readonly prefix: string;
  /** Connections this thread opens: the number of transactions (batches) it runs at once. */
  readonly poolSize: number;
  /** Most commands in one transaction (default: see `CommandRuntimeOptions.maxBatch`). */
  readonly maxBatch?: number;
  /** Commands that must be waiting to start a transaction beside a running one (see mailboxes.ts). */
  readonly minBatchWhileBusy?: number;
  readonly logLevel: string;
  readonly threadIndex: number;
  /** The process's tracing settings; absent: tracing off in the thread too. */
  readonly tracing?: TracingConfig;
}
