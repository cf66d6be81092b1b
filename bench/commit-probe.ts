/**
 * How many commands share a commit (group commit) while the command path runs: events written and distinct
 * transactions among them, counted from the `events` table between two snapshots.
 */
import type pg from "pg";

/** Events and the transactions that wrote them since the snapshot. */
export interface CommitStats {
  readonly events: number;
  readonly transactions: number;
}

/** Takes a snapshot; calling the result counts what was committed after it. */
export async function commitProbe(db: pg.Pool): Promise<() => Promise<CommitStats>> {
  const since = await lastPosition(db);
  return async () => {
    const res = await db.query<{ events: number; transactions: number }>(
      `SELECT count(*)::int AS events, count(DISTINCT transaction_id)::int AS transactions
         FROM events WHERE position > $1`,
      [since],
    );
    const row = res.rows[0];
    return { events: row?.events ?? 0, transactions: row?.transactions ?? 0 };
  };
}

async function lastPosition(db: pg.Pool): Promise<string> {
  const res = await db.query<{ p: string }>("SELECT coalesce(max(position), 0)::text AS p FROM events");
  return res.rows[0]?.p ?? "0";
}
