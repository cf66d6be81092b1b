/**
 * Scheduled reconciliation: the consistency leader compares every view with its source in the background and
 * repairs the rows that drifted (src/read-models/reconcile.ts says how lag is told from drift).
 *
 * A pass walks each view in key order, RECONCILE_BATCH_KEYS keys at a time; each batch is a couple of short
 * statements (and, only when rows differ, one short transaction under the view's refresh lock): a long
 * transaction would hold back the outbox relay, whose publish rule waits for every running transaction.
 * Passes start RECONCILE_INTERVAL_MS apart. Reconciliation runs "during low traffic": before each batch, while
 * the consistency role sees more than RECONCILE_MAX_EVENTS_PER_SECOND events a second, the pass waits (and
 * resumes at the same key). Drift means a bug: it is counted (`clone_view_drift_rows_total{view}`) and alerted on.
 */
import type pg from "pg";
import { type Logger, silentLogger } from "../logging";
import {
  type CacheInvalidation,
  FIRST_KEY,
  nextViewKeys,
  type QueryType,
  repairDrift,
  type ViewName,
  viewDifferences,
  viewNames,
} from "../read-models";

/** Schedule and batch size. */
export interface ReconcileSettings {
  /** Time between the starts of two passes; 0: never. */
  readonly intervalMs: number;
  /** Keys compared per batch. */
  readonly batchKeys: number;
  /** Above this event rate (events/s the consistency role sees), passes wait. */
  readonly maxEventsPerSecond: number;
  /** Pause between two batches (default 20 ms). */
  readonly batchPauseMs?: number;
  /** How often a deferred pass looks at the traffic again (default 1000 ms). */
  readonly deferCheckMs?: number;
}

/** Options of {@link startReconciler}. */
export interface ReconcilerOptions extends ReconcileSettings {
  readonly db: pg.Pool;
  /** Events per second the consistency role sees now. */
  readonly eventRate: () => number;
  /** Announces the cached answers repaired rows make stale. */
  readonly invalidate: (invalidations: readonly CacheInvalidation<QueryType>[]) => void;
  /** Rows of `view` found drifted and repaired. */
  readonly onDrift?: (view: ViewName, rows: number) => void;
  /** Keys of `view` compared. */
  readonly onChecked?: (view: ViewName, keys: number) => void;
  /** A batch waited for traffic to drop. */
  readonly onDeferred?: () => void;
  readonly log?: Logger;
}

/** What one pass did. */
export interface PassResult {
  readonly checked: number;
  readonly drifted: number;
  readonly lagging: number;
}

/** A running reconciler. */
export interface Reconciler {
  /** Runs one pass now (waiting for one in progress first); resolves with what it did. */
  runPass(): Promise<PassResult>;
  stop(): Promise<void>;
}

/** Counts events over a sliding window of whole seconds. */
export interface RateMeter {
  record(now?: number): void;
  /** Events per second over the last `windowSeconds`. */
  rate(now?: number): number;
}

/** A {@link RateMeter} over the last `windowSeconds` (default 5). */
export function createRateMeter(windowSeconds = 5): RateMeter {
  const counts = new Array<number>(windowSeconds).fill(0);
  const stamps = new Array<number>(windowSeconds).fill(-1);
  return {
    record(now = Date.now()) {
      const second = Math.floor(now / 1000);
      const i = second % windowSeconds;
      if (stamps[i] !== second) {
        stamps[i] = second;
        counts[i] = 0;
      }
      counts[i] = (counts[i] ?? 0) + 1;
    },
    rate(now = Date.now()) {
      const second = Math.floor(now / 1000);
      let total = 0;
      for (let i = 0; i < windowSeconds; i++) {
        if ((stamps[i] ?? -1) > second - windowSeconds) total += counts[i] ?? 0;
      }
      return total / windowSeconds;
    },
  };
}

/** Starts the reconciler: a first pass after one interval, then one every interval. */
export function startReconciler(options: ReconcilerOptions): Reconciler {
  const log = options.log ?? silentLogger;
  let stopped = false;
  let running: Promise<PassResult> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;
  const pauseMs = options.batchPauseMs ?? 20;
  const deferCheckMs = options.deferCheckMs ?? 1_000;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function quietEnough(): Promise<boolean> {
    let deferred = false;
    while (!stopped && options.eventRate() > options.maxEventsPerSecond) {
      if (!deferred) options.onDeferred?.();
      deferred = true;
      await sleep(deferCheckMs);
    }
    return !stopped;
  }

  async function reconcileView(
    view: ViewName,
    totals: { checked: number; drifted: number; lagging: number },
  ) {
    let after = FIRST_KEY;
    for (;;) {
      if (!(await quietEnough())) return;
      const keys = await nextViewKeys(options.db, view, after, options.batchKeys);
      if (keys.length === 0) return;
      totals.checked += keys.length;
      options.onChecked?.(view, keys.length);
      const differing = await viewDifferences(options.db, view, keys);
      if (differing.length > 0) {
        const client = await options.db.connect();
        try {
          const repair = await repairDrift(
            client,
            view,
            differing.map((d) => d.key),
          );
          client.release();
          if (repair.busy) {
            // The read side is far behind: the same batch again, later.
            options.onDeferred?.();
            await sleep(deferCheckMs);
            continue;
          }
          totals.lagging += repair.lagging;
          if (repair.drifted.length > 0) {
            totals.drifted += repair.drifted.length;
            options.onDrift?.(view, repair.drifted.length);
            options.invalidate(repair.invalidations);
            log.error(
              { view, rows: repair.drifted.length, keys: repair.drifted.slice(0, 10).map((d) => d.key) },
              "read view rows drifted from their source; repaired",
            );
          }
        } catch (error) {
          // E.g. a row that cannot be refreshed (the dead letters report it): the batch is skipped this pass.
          client.release(true);
          log.warn(
            { view, after, error: String(error) },
            "reconciliation batch failed; skipped until the next pass",
          );
        }
      }
      after = keys[keys.length - 1] as string;
      await sleep(pauseMs);
    }
  }

  async function pass(): Promise<PassResult> {
    const totals = { checked: 0, drifted: 0, lagging: 0 };
    for (const view of viewNames) {
      if (stopped) break;
      try {
        await reconcileView(view, totals);
      } catch (error) {
        // The next pass tries again (a row that cannot be refreshed is the dead letters' to report).
        log.warn({ view, error: String(error) }, "reconciliation of a view failed");
      }
    }
    return totals;
  }

  function runPass(): Promise<PassResult> {
    const next = (running ?? Promise.resolve()).then(pass);
    running = next;
    void next.finally(() => {
      if (running === next) running = undefined;
    });
    return next;
  }

  function schedule(): void {
    if (stopped || options.intervalMs <= 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      void runPass()
        .then((r) => log.info({ ...r }, "reconciliation pass done"))
        .finally(schedule);
    }, options.intervalMs);
  }
  schedule();

  return {
    runPass,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      wake?.();
      await running?.catch(() => {});
    },
  };
}
