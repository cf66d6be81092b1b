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

/**
 * Shares one read among the callers that ask while another is in flight, without ever answering a caller with
 * a read that began before it asked: the first caller starts a read; callers arriving while it runs wait for
 * it to end and share the next one, which then starts. Fallback reads ask for the last point written at once
 * (every read of a burst, before it takes a slot), and each must get a point written before its own answer is
 * read (its token says what the answer reflects at least): this keeps that, with at most two reads in flight.
 */
export function shareReads<T>(read: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  let next: Promise<T> | undefined;
  const start = (): Promise<T> => {
    const p = read();
    running = p;
    const done = () => {
      if (running === p) running = undefined;
    };
    p.then(done, done);
    return p;
  };
  return () => {
    if (running === undefined) return start();
    next ??= running
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        next = undefined;
        return start();
      });
    return next;
  };
}
