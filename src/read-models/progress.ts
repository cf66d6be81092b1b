/**
 * The read side's progress, as the consistency role announces it to every gateway ({@link ConsistencyUpdate},
 * after each committed refresh) and as it is stored ({@link readStoredProgress}: `read_view_state` and the
 * coordinator's `consistency_checkpoint`), shared by the consistency role that writes it and the query side
 * that waits on it.
 */
import type { StreamPoint } from "../contracts";
import type { SqlClient } from "../write-model";
import type { CacheInvalidation } from "./consistency-rules";
import { readViewStates } from "./state";
import type { QueryType, ViewName } from "./views";

/** What the coordinator announces after a view refresh committed. */
export interface ConsistencyUpdate {
  readonly views: Partial<Record<ViewName, StreamPoint>>;
  readonly complete: StreamPoint;
  readonly completeSeq: number;
  readonly invalidations: readonly CacheInvalidation<QueryType>[];
}

/** The read side's progress as stored in Postgres. */
export interface StoredProgress {
  readonly complete: StreamPoint;
  readonly views: Partial<Record<ViewName, StreamPoint>>;
  /** Epoch ms of the coordinator's last recorded progress, if known. */
  readonly freshAsOf?: number;
}

/** The progress the gateways start from: each view's applied point and the checkpoint's complete point. */
export async function readStoredProgress(db: SqlClient, name = "default"): Promise<StoredProgress> {
  const [states, cp] = await Promise.all([
    readViewStates(db),
    db.query<{ transaction_id: string; position: string; updated_at: Date }>(
      "SELECT transaction_id::text AS transaction_id, position, updated_at FROM consistency_checkpoint WHERE name = $1",
      [name],
    ),
  ]);
  const views: Partial<Record<ViewName, StreamPoint>> = {};
  let freshAsOf = 0;
  for (const s of states) {
    views[s.view] = s.applied;
    if (s.refreshedAt) freshAsOf = Math.max(freshAsOf, s.refreshedAt.getTime());
  }
  const row = cp.rows[0];
  if (row) freshAsOf = Math.max(freshAsOf, row.updated_at.getTime());
  return {
    complete: row
      ? { transactionId: BigInt(row.transaction_id), position: BigInt(row.position) }
      : { transactionId: 0n, position: 0n },
    views,
    ...(freshAsOf > 0 ? { freshAsOf } : {}),
  };
}
