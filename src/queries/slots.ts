/**
 * A counting semaphore with a short, bounded queue: the bound on concurrent fallback reads of a gateway (reads
 * answered from the write model because the views are behind). At most `size` run at once, so a stalled read
 * side adds at most `size` reads to the primary. A caller that finds every slot taken may wait for one in
 * order, but only briefly (`queue.waitMs`) and only behind a few others (`queue.length`): a fallback read
 * takes a few milliseconds, so a short wait turns a burst of reads beyond the bound into write-model answers
 * a little later, while a flood beyond the queue does something else (waits for the views) at once instead
 * of piling up.
 */

/** Gives a slot back (call once; later calls do nothing). */
export type Release = () => void;

/** How callers that find every slot taken may wait for one. */
export interface SlotQueue {
  /** Callers waiting at most (beyond: no slot at once); 0: none wait. */
  readonly length: number;
  /** How long one waits at most, ms. */
  readonly waitMs: number;
}

/** A fixed number of slots. */
export interface Slots {
  /** How many (0: none ever free). */
  readonly size: number;
  /** Takes a free slot: returns its release, or undefined when all are taken. */
  tryAcquire(): Release | undefined;
  /**
   * Takes a slot, waiting in order for one while the queue has room, for at most its `waitMs`: the release, or
   * undefined when none came in time, the queue was full, or `signal` aborted.
   */
  acquire(signal?: AbortSignal): Promise<Release | undefined>;
  /** Slots taken now. */
  inUse(): number;
  /** Callers waiting now. */
  waiting(): number;
}

interface Waiter {
  readonly grant: (release: Release | undefined) => void;
}

const NO_QUEUE: SlotQueue = { length: 0, waitMs: 0 };

/** Creates `size` slots (0: none ever free) with an optional queue (default none). */
export function createSlots(size: number, queue: SlotQueue = NO_QUEUE): Slots {
  let taken = 0;
  const waiters: Waiter[] = [];

  /** The release of a slot taken: hands the slot to the first waiter, if any, else frees it. */
  function releaseOf(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = waiters.shift();
      if (next) next.grant(releaseOf());
      else taken--;
    };
  }

  function tryAcquire(): Release | undefined {
    if (taken >= size) return undefined;
    taken++;
    return releaseOf();
  }

  return {
    size,
    tryAcquire,
    acquire(signal) {
      const free = tryAcquire();
      if (free || size === 0 || waiters.length >= queue.length || queue.waitMs <= 0 || signal?.aborted)
        return Promise.resolve(free);
      return new Promise((resolve) => {
        const leave = () => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          clearTimeout(timer);
          signal?.removeEventListener("abort", giveUp);
        };
        const giveUp = () => {
          leave();
          resolve(undefined);
        };
        const waiter: Waiter = {
          grant: (release) => {
            leave();
            resolve(release);
          },
        };
        const timer = setTimeout(giveUp, queue.waitMs);
        signal?.addEventListener("abort", giveUp, { once: true });
        waiters.push(waiter);
      });
    },
    inUse: () => taken,
    waiting: () => waiters.length,
  };
}
