/**
 * The coordinator's resume point in `consistency_checkpoint` (what the gateways read of it, with the views'
 * applied points, is `readStoredProgress` of src/read-models/progress.ts).
 */
import type { StreamPoint } from "../contracts";
import type { SqlClient } from "../write-model";

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
