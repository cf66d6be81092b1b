/**
 * A counting semaphore without a queue: the bound on concurrent fallback reads of a gateway (reads answered
 * from the write model because the views are behind). A caller that finds no slot free does something else
 * (waits for the views) instead of queueing, so a stalled read side adds at most `size` reads to the primary.
 */

/** A fixed number of slots. */
export interface Slots {
  /** Takes a slot: returns its release (call once), or undefined when all are taken. */
  tryAcquire(): (() => void) | undefined;
  /** Slots taken now. */
  inUse(): number;
}

/** Creates `size` slots (0: none ever free). */
export function createSlots(size: number): Slots {
  let taken = 0;
  return {
    tryAcquire() {
      if (taken >= size) return undefined;
      taken++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        taken--;
      };
    },
    inUse: () => taken,
  };
}
