/**
 * One refresh task in one transaction: recompute the rows of the given keys (keyed refresh; or, in full mode,
 * every row, as REFRESH MATERIALIZED VIEW CONCURRENTLY would: for comparison and repair), move the
 * view's applied point forward and stamp its refresh time. Runs on a piscina thread (or inline in the
 * embedded mode, whose database takes one connection).
 */
import type pg from "pg";
import { advanceViewState, refreshFull, refreshKeys } from "../read-models";
import type { RefreshTask } from "./coordinator";

/** How views are refreshed: keyed (only the rows events touched; the default) or full (every row). */
export type RefreshMode = "keyed" | "full";

/** What a refresh did, for metrics. */
export interface RefreshResult {
  readonly view: string;
  readonly mode: RefreshMode;
  readonly upserted: number;
  readonly deleted: number;
  readonly seconds: number;
}

/** Applies a refresh task on a connection from `pool`. */
export async function applyRefreshTask(
  pool: pg.Pool,
  task: RefreshTask,
  mode: RefreshMode = "keyed",
): Promise<RefreshResult> {
  const started = performance.now();
  const client = await pool.connect();
  let upserted = 0;
  let deleted = 0;
  try {
    await client.query("BEGIN");
    if (mode === "full") {
      const count = await refreshFull(client, task.view);
      upserted += count.upserted;
      deleted += count.deleted;
    } else {
      for (const r of task.refreshes) {
        const count = await refreshKeys(client, task.view, r.column, r.keys);
        upserted += count.upserted;
        deleted += count.deleted;
      }
    }
    // refreshed_at is stamped by the refresh functions themselves, when they take the view's lock.
    await advanceViewState(client, task.view, {
      transactionId: BigInt(task.point.transactionId),
      position: BigInt(task.point.position),
    });
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    client.release(true);
    throw error;
  }
  client.release();
  return { view: task.view, mode, upserted, deleted, seconds: (performance.now() - started) / 1000 };
}
