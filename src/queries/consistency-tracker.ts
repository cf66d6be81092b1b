/**
 * A gateway's view of the read side's progress: which point each read view has applied, whether the
 * consistency coordinator is caught up, and the cache invalidations it announces.
 *
 * Fed by the coordinator's updates (core NATS: refreshes, and a heartbeat every 250 ms),
 * with the database as the source of truth at start. Waiters share that one notification path: every update
 * wakes them all. While anyone waits, ONE re-read of the stored progress every `pollMs` (for all of them, not
 * one poll per waiter) covers an update missed during a reconnect.
 */
import { comparePoints, ORIGIN, type StreamPoint } from "../contracts";
import { AppError } from "../errors";
import type {
  CacheInvalidation,
  ConsistencyUpdate,
  QueryType,
  StoredProgress,
  ViewName,
} from "../read-models";

/** Options of {@link createConsistencyTracker}. */
export interface ConsistencyTrackerOptions {
  /** Reads the stored progress (read_view_state and the coordinator's checkpoint). */
  readonly readProgress: () => Promise<StoredProgress>;
  /** Applies an invalidation to this gateway's cache. */
  readonly invalidate: (invalidation: CacheInvalidation<QueryType>) => void;
  /** While any query waits, how often the stored progress is re-read (once for all waiters); default 1000. */
  readonly pollMs?: number;
  readonly now?: () => number;
}

/** What queries ask of the tracker. */
export interface ConsistencyTracker {
  /** Applies an update from the coordinator. */
  apply(update: ConsistencyUpdate & { caughtUpAt?: number }): void;
  /** The point up to which `views` have applied every event (the token an answer reflects). */
  pointOf(views: readonly ViewName[]): StreamPoint;
  /** True when `views` have applied `token`. */
  reached(views: readonly ViewName[], token: StreamPoint): boolean;
  /**
   * Resolves true once `views` have applied `token`, false when `timeoutMs` (if given) passed first; rejects
   * DEADLINE_EXCEEDED when `signal` aborts first.
   */
  waitFor(
    views: readonly ViewName[],
    token: StreamPoint,
    signal: AbortSignal,
    timeoutMs?: number,
  ): Promise<boolean>;
  /** Epoch ms up to which the read side is known complete (last heartbeat or completed refresh). */
  freshAsOf(): number;
  /**
   * Epoch ms up to which the read side is complete as its latest heartbeat says (now while caught up, the
   * commit time of its oldest unapplied event while busy), or the tracker's creation before the first: how
   * far behind, or how long silent, it is.
   */
  caughtUpAt(): number;
  /** Reads the stored progress now. */
  refresh(): Promise<void>;
  /** Takes progress read elsewhere (a replica's, read by the replica gate). */
  absorb(progress: StoredProgress): void;
}

const max = (a: StreamPoint, b: StreamPoint) => (comparePoints(a, b) >= 0 ? a : b);

/** Creates a tracker; call {@link ConsistencyTracker.refresh} once before serving. */
export function createConsistencyTracker(options: ConsistencyTrackerOptions): ConsistencyTracker {
  const now = options.now ?? Date.now;
  const pollMs = options.pollMs ?? 1_000;
  let complete = ORIGIN;
  const views = new Map<ViewName, StreamPoint>();
  let freshAsOf = 0;
  let caughtUpAt = now();
  const waiters = new Set<() => void>();
  let poll: ReturnType<typeof setInterval> | undefined;
  let polling = false;

  const pointOf = (vs: readonly ViewName[]): StreamPoint => {
    let point: StreamPoint | undefined;
    for (const v of vs) {
      const p = max(views.get(v) ?? ORIGIN, complete);
      point = point === undefined || comparePoints(p, point) < 0 ? p : point;
    }
    return point ?? complete;
  };
  const reached = (vs: readonly ViewName[], token: StreamPoint) => comparePoints(pointOf(vs), token) >= 0;

  function wake(): void {
    for (const w of [...waiters]) w();
  }

  function absorb(progress: StoredProgress): void {
    complete = max(complete, progress.complete);
    for (const [v, p] of Object.entries(progress.views) as [ViewName, StreamPoint][]) {
      views.set(v, max(views.get(v) ?? ORIGIN, p));
    }
    if (progress.freshAsOf !== undefined) freshAsOf = Math.max(freshAsOf, progress.freshAsOf);
    wake();
  }

  /** One re-read at a time, while anyone waits. */
  function pollOnce(): void {
    if (polling) return;
    polling = true;
    options
      .readProgress()
      .then(absorb, () => {})
      .finally(() => {
        polling = false;
      });
  }

  function addWaiter(check: () => void): void {
    waiters.add(check);
    poll ??= setInterval(pollOnce, pollMs);
  }

  function removeWaiter(check: () => void): void {
    waiters.delete(check);
    if (waiters.size === 0 && poll !== undefined) {
      clearInterval(poll);
      poll = undefined;
    }
  }

  return {
    apply(update) {
      for (const inv of update.invalidations) options.invalidate(inv);
      if (update.caughtUpAt !== undefined) {
        freshAsOf = Math.max(freshAsOf, update.caughtUpAt);
        caughtUpAt = Math.max(caughtUpAt, update.caughtUpAt);
      } else if (Object.keys(update.views).length > 0) freshAsOf = Math.max(freshAsOf, now());
      absorb({ complete: update.complete, views: update.views });
    },
    pointOf,
    reached,
    async waitFor(vs, token, signal, timeoutMs) {
      if (reached(vs, token)) return true;
      return new Promise<boolean>((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const done = () => {
          removeWaiter(check);
          if (timer) clearTimeout(timer);
          signal.removeEventListener("abort", abort);
        };
        const check = () => {
          if (!reached(vs, token)) return;
          done();
          resolve(true);
        };
        const abort = () => {
          done();
          reject(
            new AppError(
              "DEADLINE_EXCEEDED",
              "the read views did not reach the requested consistency token in time",
            ),
          );
        };
        if (signal.aborted) return abort();
        signal.addEventListener("abort", abort, { once: true });
        addWaiter(check);
        if (timeoutMs !== undefined) {
          timer = setTimeout(() => {
            done();
            resolve(false);
          }, timeoutMs);
        }
      });
    },
    freshAsOf: () => freshAsOf,
    caughtUpAt: () => caughtUpAt,
    async refresh() {
      absorb(await options.readProgress());
    },
    absorb,
  };
}
