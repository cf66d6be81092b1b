/**
 * Read-side metrics: view refreshes (duration, failures, rows) and the consistency lag, the time from an
 * event's commit to the refresh that made it visible in a view. The helpers have the signatures of the
 * consistency service's `onRefreshed` and `onRefreshFailed` options.
 *
 * The failure counters start at 0 for every view and mode, so that the first failure is an increase that
 * `increase()` can see (a counter series born at 1 looks like no change).
 */
import { Counter, Histogram, type Registry } from "prom-client";
import { viewNames } from "../read-models";
import { lagBuckets, refreshBuckets } from "./buckets";

/** How a view was refreshed: the rows of some keys, or the whole view (rebuild). */
export type RefreshMode = "keyed" | "full";

const modes: readonly RefreshMode[] = ["keyed", "full"];

/** What a keyed refresh reports (`RefreshResult` of src/consistency/apply-refresh.ts fits). */
export interface RefreshResultLike {
  readonly view: string;
  readonly upserted: number;
  readonly deleted: number;
  readonly seconds: number;
}

/** The refresh task (`RefreshTask` of src/consistency/coordinator.ts fits). */
export interface RefreshTaskLike {
  readonly view: string;
  /** Commit times (ISO 8601) of the events the task applies. */
  readonly committedAt: readonly string[];
}

/** View and consistency metrics and the helpers that record them. */
export interface ViewMetrics {
  /** `clone_view_refresh_duration_seconds{view, mode}`. */
  readonly refreshDuration: Histogram<"view" | "mode">;
  /** `clone_view_refresh_failures_total{view, mode}`. */
  readonly refreshFailures: Counter<"view" | "mode">;
  /** `clone_view_refresh_rows_total{view}`: rows written (upserted or deleted) by refreshes. */
  readonly refreshRows: Counter<"view">;
  /** `clone_consistency_lag_seconds{view}`: event commit to view refreshed, one observation per event. */
  readonly consistencyLag: Histogram<"view">;
  /** `clone_view_drift_rows_total{view}`: rows reconciliation found differing from the source (a bug), repaired. */
  readonly driftRows: Counter<"view">;
  /** `clone_view_reconcile_keys_total{view}`: keys reconciliation compared with the source. */
  readonly reconcileKeys: Counter<"view">;
  /** `clone_view_reconcile_deferrals_total`: reconciliation batches that waited for traffic to drop. */
  readonly reconcileDeferrals: Counter;
  /** The consistency service's `onRefreshed` option: a keyed refresh and the lag of each of its events. */
  refreshed(result: RefreshResultLike, task: RefreshTaskLike): void;
  /** The consistency service's `onRefreshFailed` option: a failed keyed refresh. */
  refreshFailed(task: RefreshTaskLike, error?: unknown): void;
  /** Records one refresh of any mode (e.g. a full rebuild). */
  observeRefresh(view: string, mode: RefreshMode, seconds: number, rows: number): void;
  /** Records one failed refresh of any mode. */
  observeRefreshFailure(view: string, mode: RefreshMode): void;
  /** Records the lag of events committed at `committedAt` (ISO 8601 or epoch ms), visible in `view` at `now`. */
  observeLag(view: string, committedAt: readonly (string | number)[], now?: number): void;
}

/** Creates the view and consistency metrics on `registry`. */
export function createViewMetrics(registry: Registry): ViewMetrics {
  const refreshDuration = new Histogram({
    name: "clone_view_refresh_duration_seconds",
    help: "Read view refreshes (one transaction), keyed (some rows) or full (the whole view).",
    labelNames: ["view", "mode"],
    buckets: [...refreshBuckets],
    registers: [registry],
  });
  const refreshFailures = new Counter({
    name: "clone_view_refresh_failures_total",
    help: "Read view refreshes that failed (they are retried).",
    labelNames: ["view", "mode"],
    registers: [registry],
  });
  const refreshRows = new Counter({
    name: "clone_view_refresh_rows_total",
    help: "Rows upserted or deleted by read view refreshes.",
    labelNames: ["view"],
    registers: [registry],
  });
  const consistencyLag = new Histogram({
    name: "clone_consistency_lag_seconds",
    help: "Time from an event's commit in the write model to the refresh that made it visible in a view.",
    labelNames: ["view"],
    buckets: [...lagBuckets],
    registers: [registry],
  });
  const driftRows = new Counter({
    name: "clone_view_drift_rows_total",
    help: "Read view rows that scheduled reconciliation found differing from the view's source with no event to explain it (a bug), and repaired.",
    labelNames: ["view"],
    registers: [registry],
  });
  const reconcileKeys = new Counter({
    name: "clone_view_reconcile_keys_total",
    help: "Read view keys that scheduled reconciliation compared with the view's source.",
    labelNames: ["view"],
    registers: [registry],
  });
  const reconcileDeferrals = new Counter({
    name: "clone_view_reconcile_deferrals_total",
    help: "Reconciliation batches that waited because the event rate was above RECONCILE_MAX_EVENTS_PER_SECOND.",
    registers: [registry],
  });
  for (const view of viewNames) {
    for (const mode of modes) refreshFailures.inc({ view, mode }, 0);
    driftRows.inc({ view }, 0);
  }

  const observeRefresh = (view: string, mode: RefreshMode, seconds: number, rows: number): void => {
    refreshDuration.observe({ view, mode }, seconds);
    if (rows > 0) refreshRows.inc({ view }, rows);
  };
  const observeLag = (view: string, committedAt: readonly (string | number)[], now = Date.now()): void => {
    for (const at of committedAt) {
      const ms = typeof at === "number" ? at : Date.parse(at);
      // Clocks of Postgres and this process may differ a little: a negative lag is no lag.
      if (Number.isFinite(ms)) consistencyLag.observe({ view }, Math.max(0, now - ms) / 1000);
    }
  };
  return {
    refreshDuration,
    refreshFailures,
    refreshRows,
    consistencyLag,
    driftRows,
    reconcileKeys,
    reconcileDeferrals,
    refreshed(result, task) {
      observeRefresh(result.view, "keyed", result.seconds, result.upserted + result.deleted);
      observeLag(task.view, task.committedAt);
    },
    refreshFailed(task) {
      refreshFailures.inc({ view: task.view, mode: "keyed" });
    },
    observeRefresh,
    observeRefreshFailure(view, mode) {
      refreshFailures.inc({ view, mode });
    },
    observeLag,
  };
}
