/**
 * One refresh task in one transaction: recompute the rows of the given keys (keyed refresh), move the
 * view's applied point forward and stamp its refresh time. Runs on a piscina thread (or inline in the
 * embedded mode, whose database takes one connection).
 */
import type pg from "pg";
import { advanceViewState, refreshKeys } from "../read-models";
import type { RefreshTask } from "./coordinator";

/** What a refresh did, for metrics. */
export interface RefreshResult {
  readonly view: string;
  readonly upserted: number;
  readonly deleted: number;
  readonly seconds: number;
}

/** Applies a refresh task on a connection from `pool`. */
export async function applyRefreshTask(pool: pg.Pool, task: RefreshTask): Promise<RefreshResult> {
  const started = performance.now();
  const client = await pool.connect();
  let upserted = 0;
  let deleted = 0;
  try {
    await client.query("BEGIN");
    for (const r of task.refreshes) {
      const count = await refreshKeys(client, task.view, r.column, r.keys);
      upserted += count.upserted;
      deleted += count.deleted;
    }
    await advanceViewState(client, task.view, {
      transactionId: BigInt(task.point.transactionId),
      position: BigInt(task.point.position),
    });
    await client.query("UPDATE read_view_state SET refreshed_at = now() WHERE view_name = $1", [task.view]);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    client.release(true);
    throw error;
  }
  client.release();
  return { view: task.view, upserted, deleted, seconds: (performance.now() - started) / 1000 };
}
