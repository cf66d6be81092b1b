/**
 * Items added during one synchronous run, handed over together at its end (one microtask): how a command
 * thread reports its executions to its main thread, one message per tick instead of one per command.
 */

/** A batch being gathered. */
export interface TickBatch<T> {
  /** Adds an item; the first of a tick schedules the flush at the tick's end. */
  add(item: T): void;
  /** Hands over what was gathered now (nothing when empty). */
  flush(): void;
}

/** Creates a batch that hands its items to `flush` (never with an empty array). */
export function createTickBatch<T>(flush: (items: T[]) => void): TickBatch<T> {
  let items: T[] = [];
  const batch: TickBatch<T> = {
    add(item) {
      if (items.push(item) === 1) queueMicrotask(batch.flush);
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
