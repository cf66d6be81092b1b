/**
 * The consistency service's refresh callbacks, recording refresh duration, rows and failures by view and
 * mode, and the consistency lag of every event a refresh applied.
 */
import type { Metrics } from "./create-metrics";
import type { RefreshMode, RefreshTaskLike } from "./views";

/** A refresh's result as the consistency service reports it. */
export interface RefreshReport {
  readonly view: string;
  readonly mode: RefreshMode;
  readonly upserted: number;
  readonly deleted: number;
  readonly seconds: number;
}

/** `onRefreshed` / `onRefreshFailed` for the consistency service. */
export function refreshMetrics(metrics: Metrics, mode: RefreshMode) {
  return {
    onRefreshed(result: RefreshReport, task: RefreshTaskLike) {
      metrics.views.observeRefresh(
        result.view,
        result.mode,
        result.seconds,
        result.upserted + result.deleted,
      );
      if (task.committedAt.length > 0) metrics.views.observeLag(result.view, task.committedAt);
    },
    onRefreshFailed(task: RefreshTaskLike) {
      metrics.views.observeRefreshFailure(task.view, mode);
    },
  };
}

/** The reconciler's hooks (drift rows, keys compared, deferrals) for the consistency service's `reconcile`. */
export function reconcileMetrics(metrics: Metrics) {
  return {
    onDrift(view: string, rows: number) {
      metrics.views.driftRows.inc({ view }, rows);
    },
    onChecked(view: string, keys: number) {
      metrics.views.reconcileKeys.inc({ view }, keys);
    },
    onDeferred() {
      metrics.views.reconcileDeferrals.inc();
    },
  };
}
