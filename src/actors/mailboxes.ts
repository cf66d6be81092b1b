/**
 * Per-aggregate mailboxes with group commit.
 *
 * Every aggregate id has a FIFO mailbox. At most one command of an aggregate is being applied at any time, and
 * the next one starts only when it finished, so an aggregate sees its commands one at a time, in arrival order.
 * Different aggregates run in parallel: the heads of all idle mailboxes are gathered into batches of up to
 * `maxBatch`, and up to `maxConcurrentBatches` batches run at once (a further one only when `minBatchWhileBusy`
 * aggregates are ready). A batch is applied by `runBatch` (one Postgres statement for all its commands), so
 * under load many commands share one commit.
 */

/** A unit of work for one aggregate. */
export interface MailboxItem {
  readonly aggregateId: string;
}

/** Applies a batch (distinct aggregates) and returns one result per item, in the same order. */
export type BatchRunner<I extends MailboxItem, R> = (items: readonly I[]) => Promise<readonly R[]>;

/** Options of {@link createMailboxes}. */
export interface MailboxOptions<I extends MailboxItem, R> {
  readonly runBatch: BatchRunner<I, R>;
  /** Most commands in one batch (one transaction). */
  readonly maxBatch: number;
  /** Most batches in flight at once (about the number of database connections to use). */
  readonly maxConcurrentBatches: number;
  /**
   * While a batch is running, another starts only once this many aggregates are ready (default 1: at once).
   * An idle set of mailboxes always starts at once, so a lone command waits for nothing; under load the
   * commands that arrive during a commit gather into the next batch instead of each taking a connection, which
   * makes batches larger and the cost per command smaller.
   */
  readonly minBatchWhileBusy?: number;
}

/** The mailboxes of one thread. */
export interface Mailboxes<I extends MailboxItem, R> {
  /** Queues an item behind the earlier items of its aggregate; resolves with its result. */
  submit(item: I): Promise<R>;
  /** Items queued or running. */
  size(): number;
  /** Resolves when nothing is queued or running. */
  idle(): Promise<void>;
}

interface Entry<I, R> {
  readonly item: I;
  readonly resolve: (r: R) => void;
  readonly reject: (e: unknown) => void;
}

/** Creates an empty set of mailboxes. */
export function createMailboxes<I extends MailboxItem, R>(options: MailboxOptions<I, R>): Mailboxes<I, R> {
  const queues = new Map<string, Entry<I, R>[]>();
  /** Aggregates whose head may start now, in the order they became ready. */
  const ready = new Set<string>();
  let running = 0;
  let count = 0;
  let idleWaiters: Array<() => void> = [];

  const minWhileBusy = options.minBatchWhileBusy ?? 1;

  function pump(): void {
    while (running < options.maxConcurrentBatches && ready.size > 0) {
      if (running > 0 && ready.size < minWhileBusy) return;
      const batch: Entry<I, R>[] = [];
      for (const id of ready) {
        ready.delete(id);
        const head = queues.get(id)?.[0];
        if (head) batch.push(head);
        if (batch.length >= options.maxBatch) break;
      }
      if (batch.length === 0) return;
      running++;
      void run(batch);
    }
  }

  async function run(batch: Entry<I, R>[]): Promise<void> {
    let results: readonly R[] | undefined;
    let failure: unknown;
    try {
      results = await options.runBatch(batch.map((e) => e.item));
      if (results.length !== batch.length) throw new Error("runBatch returned the wrong number of results");
    } catch (error) {
      failure = error;
    }
    running--;
    batch.forEach((entry, i) => {
      if (results) entry.resolve(results[i] as R);
      else entry.reject(failure);
      const id = entry.item.aggregateId;
      const queue = queues.get(id);
      queue?.shift();
      count--;
      if (queue && queue.length > 0) ready.add(id);
      else queues.delete(id);
    });
    pump();
    if (count === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  return {
    submit(item) {
      return new Promise<R>((resolve, reject) => {
        const queue = queues.get(item.aggregateId);
        count++;
        if (queue) {
          queue.push({ item, resolve, reject });
          return;
        }
        queues.set(item.aggregateId, [{ item, resolve, reject }]);
        ready.add(item.aggregateId);
        // Let the other messages of this tick arrive first, so they can share the batch.
        queueMicrotask(pump);
      });
    },
    size: () => count,
    idle: () => (count === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
  };
}
