/**
 * Points of the event order as written in the write model: whether a consistency token names an event the
 * server wrote (tokens are points it handed out, so a point it never wrote is a forged or foreign token), and
 * the last point written (what an answer read from the write model reflects).
 */
import { ORIGIN, type StreamPoint } from "../contracts";
import type { SqlClient } from "../write-model";

const INT8_MAX = 2n ** 63n - 1n;

/**
 * True when `point` is ORIGIN or names an event written: one lookup by the unique `position`. Called only
 * for a token the views have not reached yet, so a read whose token is reached costs nothing.
 */
export async function isWrittenPoint(db: SqlClient, point: StreamPoint): Promise<boolean> {
  if (point.transactionId === 0n && point.position === 0n) return true;
  if (point.position > INT8_MAX || point.transactionId > INT8_MAX) return false;
  const res = await db.query<{ ok: boolean }>({
    name: "q_written_point",
    text: "SELECT EXISTS (SELECT 1 FROM events WHERE position = $1 AND transaction_id = $2::text::xid8) AS ok",
    values: [point.position.toString(), point.transactionId.toString()],
  });
  return res.rows[0]?.ok === true;
}

/** The point of the event written last (highest position), ORIGIN before any. */
export async function lastWrittenPoint(db: SqlClient): Promise<StreamPoint> {
  const res = await db.query<{ tx: string; position: string }>({
    name: "q_last_written_point",
    text: "SELECT transaction_id::text AS tx, position FROM events ORDER BY position DESC LIMIT 1",
    values: [],
  });
  const row = res.rows[0];
  return row ? { transactionId: BigInt(row.tx), position: BigInt(row.position) } : ORIGIN;
}
