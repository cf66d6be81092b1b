/**
 * A gateway's view of the read side's progress: which point each read view has applied, whether the
 * consistency coordinator is caught up, and the cache invalidations it announces.
 *
 * Fed by the coordinator's updates (core NATS), with the database as the source of truth at start and as a
 * fallback while a query waits (an update missed during a reconnect cannot leave a waiter hanging).
 */
import { comparePoints, ORIGIN, type StreamPoint } from "../commands/consistency-token";
import type { ConsistencyUpdate } from "../consistency/coordinator";
import type { CacheInvalidation, ViewName } from "../consistency/rules";
import { AppError } from "../errors";

/** The read side's progress as stored in Postgres. */
export interface StoredProgress {
  readonly complete: StreamPoint;
  readonly views: Partial<Record<ViewName, StreamPoint>>;
  /** Epoch ms of the coordinator's last recorded progress, if known. */
  readonly freshAsOf?: number;
}

/** Options of {@link createConsistencyTracker}. */
export interface ConsistencyTrackerOptions {
  /** Reads the stored progress (read_view_state and the coordinator's checkpoint). */
  readonly readProgress: () => Promise<StoredProgress>;
  /** Applies an invalidation to this gateway's cache. */
  readonly invalidate: (invalidation: CacheInvalidation) => void;
  /** How often a waiting query re-reads the stored progress. */
  readonly pollMs?: number;
  readonly now?: () => number;
}

/** What queries ask of the tracker. */
export interface ConsistencyTracker {
  /** Applies an update from the coordinator. */
  apply(update: ConsistencyUpdate & { caughtUpAt?: number }): void;
  /** The point up to which `views` have applied every event (the token an answer reflects). */
  pointOf(views: readonly ViewName[]): StreamPoint;
  /** Resolves once `views` have applied `token`; rejects DEADLINE_EXCEEDED when `signal` aborts first. */
  waitFor(views: readonly ViewName[], token: StreamPoint, signal: AbortSignal): Promise<void>;
  /** Epoch ms up to which the read side is known complete (last heartbeat or completed refresh). */
  freshAsOf(): number;
  /** Reads the stored progress now. */
  refresh(): Promise<void>;
}

const max = (a: StreamPoint, b: StreamPoint) => (comparePoints(a, b) >= 0 ? a : b);

/** Creates a tracker; call {@link ConsistencyTracker.refresh} once before serving. */
export function createConsistencyTracker(options: ConsistencyTrackerOptions): ConsistencyTracker {
  const now = options.now ?? Date.now;
  const pollMs = options.pollMs ?? 100;
  let complete = ORIGIN;
  const views = new Map<ViewName, StreamPoint>();
  let freshAsOf = 0;
  const waiters = new Set<() => void>();

  const pointOf = (vs: readonly ViewName[]): StreamPoint => {
    let point: StreamPoint | undefined;
    for (const v of vs) {
      const p = max(views.get(v) ?? ORIGIN, complete);
      point = point === undefined || comparePoints(p, point) < 0 ? p : point;
    }
    return point ?? complete;
  };

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

  return {
    apply(update) {
      for (const inv of update.invalidations) options.invalidate(inv);
      absorb({ complete: update.complete, views: update.views });
      if (update.caughtUpAt !== undefined) freshAsOf = Math.max(freshAsOf, update.caughtUpAt);
      else if (Object.keys(update.views).length > 0) freshAsOf = Math.max(freshAsOf, now());
    },
    pointOf,
    async waitFor(vs, token, signal) {
      const reached = () => comparePoints(pointOf(vs), token) >= 0;
      if (reached()) return;
      await new Promise<void>((resolve, reject) => {
        let timer: ReturnType<typeof setInterval> | undefined;
        const done = () => {
          waiters.delete(check);
          if (timer) clearInterval(timer);
          signal.removeEventListener("abort", abort);
        };
        const check = () => {
          if (!reached()) return;
          done();
          resolve();
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
        waiters.add(check);
        timer = setInterval(() => {
          options.readProgress().then(absorb, () => {});
        }, pollMs);
      });
    },
    freshAsOf: () => freshAsOf,
    async refresh() {
      absorb(await options.readProgress());
    },
  };
}
