/**
 * The relay's waits: a nap until the next poll that a NOTIFY or `wake()` ends early, and a backoff pause
 * that only `stop()` ends (a burst of appends while NATS is down must not turn backoff into a busy loop).
 * A wake that arrives while the relay is busy is remembered, so the following nap returns at once. With a
 * wake delay, a wake that comes less than that after a nap began (the relay has just finished a round) takes
 * effect that long after the nap began, so the commits of those milliseconds share one round instead of each
 * starting its own; a wake later in the nap (the relay was idle) takes effect at once, so a turn after a
 * quiet moment waits for nothing.
 */

/** Wakeable waits; see the module comment. */
export interface WakeSignal {
  /** Ends the current nap, or the next one if none is running. */
  wake(): void;
  /** Ends every wait, now and later. */
  stop(): void;
  /** Waits `ms`, or until a wake or stop. */
  nap(ms: number): Promise<void>;
  /** Waits `ms`, or until stop. */
  pause(ms: number): Promise<void>;
  /**
   * True when a wake came that the next nap would return at once for, or after stop; a wake it reports is
   * used up (the caller goes on at once instead of napping).
   */
  takeWake(): boolean;
}

/** Creates a {@link WakeSignal}; `wakeDelayMs` (default 0) delays a wake right after a round, see the module comment. */
export function createWakeSignal(wakeDelayMs = 0): WakeSignal {
  let pending = false;
  let stopped = false;
  let delayed: ReturnType<typeof setTimeout> | undefined;
  const waiters = new Set<{ end: () => void; wakeable: boolean; since: number }>();

  function wait(ms: number, wakeable: boolean): Promise<void> {
    if (stopped) return Promise.resolve();
    if (wakeable && pending) {
      pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const waiter = {
        wakeable,
        since: performance.now(),
        end: () => {
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.end, ms);
      waiters.add(waiter);
    });
  }

  function wakeNow(): void {
    const napping = [...waiters].filter((w) => w.wakeable);
    if (napping.length === 0) pending = true;
    for (const w of napping) w.end();
  }

  return {
    wake() {
      const nap = [...waiters].find((w) => w.wakeable);
      const early = nap === undefined ? 0 : wakeDelayMs - (performance.now() - nap.since);
      if (early <= 0) return wakeNow();
      delayed ??= setTimeout(() => {
        delayed = undefined;
        wakeNow();
      }, early);
    },
    stop() {
      stopped = true;
      clearTimeout(delayed);
      for (const w of [...waiters]) w.end();
    },
    nap: (ms) => wait(ms, true),
    pause: (ms) => wait(ms, false),
    takeWake() {
      if (stopped) return true;
      const taken = pending;
      pending = false;
      return taken;
    },
  };
}

/** Backoff after `failures` consecutive failed rounds: 100 ms doubling, at most `maxMs`. */
export function backoffMs(failures: number, maxMs = 30_000): number {
  return Math.min(maxMs, 100 * 2 ** Math.max(0, Math.min(failures - 1, 20)));
}

/** Wait before the `streak`-th retry while events are held back by a running transaction: 10 ms doubling. */
export function heldBackRetryMs(streak: number, pollMs: number): number {
  return Math.min(pollMs, 10 * 2 ** Math.max(0, Math.min(streak - 1, 20)));
}
