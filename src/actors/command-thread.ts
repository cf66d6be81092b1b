/**
 * The body of one command thread: mailboxes in front of the group-commit executor, on this thread's own
 * Postgres pool. Started by `workers/command-thread.ts`; kept here so it can also run in-process (embedded
 * mode and tests) through {@link createCommandRuntime}.
 */

import type { CommandEnvelope, CommandOutcome } from "../contracts";
import type { Logger } from "../logging";
import { MAX_PREPARED_PARTS } from "../write-model";
import { createCommandExecutor, type TransactionClient } from "./executor";
import { createMailboxes, type Mailboxes } from "./mailboxes";
import { traceBatches } from "./traced-executor";

/** Options of {@link createCommandRuntime}. */
export interface CommandRuntimeOptions {
  /** Takes a connection for one transaction. */
  readonly connect: () => Promise<TransactionClient>;
  /** Batches in flight at once (at most the pool's size). */
  readonly concurrency: number;
  /**
   * Most commands in one transaction. Default, and best: {@link MAX_PREPARED_PARTS}, the most a prepared write
   * statement holds (a larger batch is parsed and planned at every commit, see db/combined-statement.ts).
   */
  readonly maxBatch?: number;
  /** See `MailboxOptions.minBatchWhileBusy`. */
  readonly minBatchWhileBusy?: number;
  readonly log?: Logger;
}

/** Mailboxes + executor: submit an envelope, get its outcome. */
export type CommandRuntime = Mailboxes<CommandEnvelope, CommandOutcome>;

/** Creates the per-aggregate mailboxes that apply commands with group commit. */
export function createCommandRuntime(options: CommandRuntimeOptions): CommandRuntime {
  const execute = createCommandExecutor({
    connect: options.connect,
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  return createMailboxes<CommandEnvelope, CommandOutcome>({
    runBatch: traceBatches(execute),
    maxBatch: options.maxBatch ?? MAX_PREPARED_PARTS,
    maxConcurrentBatches: options.concurrency,
    ...(options.minBatchWhileBusy === undefined ? {} : { minBatchWhileBusy: options.minBatchWhileBusy }),
  });
}
