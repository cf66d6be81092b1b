/** The coordinator's resume point in `consistency_checkpoint`, and the read side's stored progress. */
import type { StreamPoint } from "../contracts";
import type { StoredProgress } from "../queries/consistency-tracker";
import { readViewStates } from "../read-models";
import type { SqlClient } from "../write-model";
import type { ViewName } from "./rules";

/** Where the coordinator resumes. */
export interface Checkpoint {
  readonly seq: number;
  readonly point: StreamPoint;
}

/** Reads (creating it if needed) the checkpoint of `name`. */
export async function readCheckpoint(db: SqlClient, name = "default"): Promise<Checkpoint> {
  await db.query("INSERT INTO consistency_checkpoint (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", [
    name,
  ]);
  const res = await db.query<{ stream_seq: string; transaction_id: string; position: string }>(
    "SELECT stream_seq, transaction_id::text AS transaction_id, position FROM consistency_checkpoint WHERE name = $1",
    [name],
  );
  const r = res.rows[0];
  return r
    ? {
        seq: Number(r.stream_seq),
        point: { transactionId: BigInt(r.transaction_id), position: BigInt(r.position) },
      }
    : { seq: 0, point: { transactionId: 0n, position: 0n } };
}

/** Moves the checkpoint forward (never back); `force` also allows moving it back (after a stream reset). */
export async function writeCheckpoint(
  db: SqlClient,
  checkpoint: Checkpoint,
  name = "default",
  force = false,
) {
  await db.query(
    `UPDATE consistency_checkpoint
        SET stream_seq = $2, transaction_id = $3::xid8, position = $4, updated_at = now()
      WHERE name = $1 AND ($5 OR stream_seq < $2)`,
    [
      name,
      checkpoint.seq,
      checkpoint.point.transactionId.toString(),
      checkpoint.point.position.toString(),
      force,
    ],
  );
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
