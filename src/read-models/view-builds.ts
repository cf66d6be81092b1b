/**
 * Changing a view without downtime (sql/0027_view_builds.sql): a migration creates the new version beside the
 * old one (`<view>__next_source`, `<view>__next`) and registers its build; keyed refreshes then apply to both;
 * {@link runViewBuild} fills the new table in key batches (each its own short transaction under the view's
 * refresh lock), swaps it in with one short transaction of renames, and drops the old version. Reads are served
 * by the old table until the swap commits, by the new one after it. The procedure: src/read-models/README.md.
 */
import type pg from "pg";
import type { SqlClient } from "../write-model";
import type { CacheInvalidation } from "./consistency-rules";
import { invalidationsOf } from "./reconcile";
import { isViewName, type QueryType, type ViewName } from "./views";

/** A registered build of a view's new version. */
export interface ViewBuild {
  readonly view: ViewName;
  /** The last key filled; null before the first batch. */
  readonly builtThrough: string | null;
  readonly startedAt: Date;
  /** When the new table had every row (ready to swap); null while filling. */
  readonly completedAt: Date | null;
}

/** The builds registered and not swapped in yet. */
export async function listViewBuilds(db: SqlClient): Promise<ViewBuild[]> {
  const res = await db.query<{
    view_name: string;
    built_through: string | null;
    started_at: Date;
    completed_at: Date | null;
  }>("SELECT view_name, built_through, started_at, completed_at FROM read_view_builds ORDER BY started_at");
  return res.rows
    .filter((r) => isViewName(r.view_name))
    .map((r) => ({
      view: r.view_name as ViewName,
      builtThrough: r.built_through,
      startedAt: r.started_at,
      completedAt: r.completed_at,
    }));
}

/** Fills the next `batch` keys of the view's new version; returns how many (0: complete). */
export async function buildStep(db: SqlClient, view: ViewName, batch: number): Promise<number> {
  const res = await db.query<{ n: number }>("SELECT read_view_build_step($1, $2) AS n", [view, batch]);
  return res.rows[0]?.n ?? 0;
}

/** Options of {@link runViewBuild}. */
export interface ViewBuildOptions {
  /** Keys per batch (default 500). */
  readonly batchKeys?: number;
  /** Pause between batches, so that the build yields to the event-driven refreshes (default 10 ms). */
  readonly pauseMs?: number;
  /** How long the swap waits for readers' locks per attempt (default 2000 ms), and how many attempts (20). */
  readonly swapLockTimeoutMs?: number;
  readonly swapAttempts?: number;
  /** True once the caller wants the build to stop (it resumes where it stopped next time). */
  readonly stopped?: () => boolean;
  /** Told of progress and of swap retries. */
  readonly onProgress?: (message: string, fields: Record<string, unknown>) => void;
}

/** What {@link runViewBuild} did. */
export interface ViewBuildResult {
  readonly keys: number;
  readonly swapped: boolean;
  /** The cached answers that rows changed by the swap (on the columns both versions have) fed. */
  readonly invalidations: readonly CacheInvalidation<QueryType>[];
}

const LOCK_NOT_AVAILABLE = "55P03";

/** Swaps a completed build in: one short transaction, retried while readers' locks make it wait too long. */
export async function swapView(pool: pg.Pool, view: ViewName, options: ViewBuildOptions = {}): Promise<void> {
  const attempts = options.swapAttempts ?? 20;
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(`SET LOCAL lock_timeout = ${Math.max(1, options.swapLockTimeoutMs ?? 2_000)}`);
      await client.query("SELECT read_view_swap($1)", [view]);
      await client.query("COMMIT");
      client.release();
      return;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      client.release();
      const code = (error as { code?: string }).code;
      if (code !== LOCK_NOT_AVAILABLE || attempt >= attempts) throw error;
      options.onProgress?.("view swap waited too long for readers; retrying", { view, attempt });
    }
  }
}

/**
 * Runs the registered build of `view` to its end: fills the new version, swaps it in, drops the old one.
 * Stopped early (`stopped()`), it leaves the build where it is; the next run resumes it.
 */
export async function runViewBuild(
  pool: pg.Pool,
  view: ViewName,
  options: ViewBuildOptions = {},
): Promise<ViewBuildResult> {
  const batch = options.batchKeys ?? 500;
  let keys = 0;
  for (;;) {
    if (options.stopped?.()) return { keys, swapped: false, invalidations: [] };
    const n = await buildStep(pool, view, batch);
    if (n === 0) break;
    keys += n;
    await Bun.sleep(options.pauseMs ?? 10);
  }
  await swapView(pool, view, options);
  const changed = await pool.query<{ key: string; user_id: string }>(
    "SELECT key, user_id FROM read_view_changed_by_swap($1)",
    [view],
  );
  await pool.query("SELECT read_view_drop_retired($1)", [view]);
  options.onProgress?.("read view's new version swapped in; the old one dropped", {
    view,
    keys,
    changedRows: changed.rows.length,
  });
  const rows = changed.rows.map((r) => ({ key: r.key, userId: r.user_id }));
  return { keys, swapped: true, invalidations: invalidationsOf(view, rows) };
}
