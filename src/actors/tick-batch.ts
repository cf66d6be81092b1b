/**
 * Items added during one turn of the event loop, handed over together after it (`setImmediate`): how a
 * command thread reports its executions to its main thread, one message per turn instead of one per command.
 *
 * Why after the turn and not at the end of its microtasks: the answers to the commands are sent from
 * microtasks of the same turn, and a `postMessage` ahead of them cost each answer about 0.1 ms at
 * concurrency 1 (stamped through the worker). Metrics can wait a turn; answers should not.
 */

/** A batch being gathered. */
export interface TickBatch<T> {
  /** Adds an item; the first of a turn schedules the flush after it. */
  add(item: T): void;
  /** Hands over what was gathered now (nothing when empty). */
  flush(): void;
}

/** Creates a batch that hands its items to `flush` (never with an empty array). */
export function createTickBatch<T>(flush: (items: T[]) => void): TickBatch<T> {
  let items: T[] = [];
  const batch: TickBatch<T> = {
    add(item) {
      if (items.push(item) === 1) setImmediate(batch.flush);
    },
    flush() {
      if (items.length === 0) return;
      const gathered = items;
      items = [];
      flush(gathered);
    },
  };
  return batch;
}
