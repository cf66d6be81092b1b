/**
 * How many commands share a commit (group commit) while the command path runs: events written and distinct
 * transactions among them, counted from the `events` table between two snapshots. Also how many events the
 * outbox relay published a round: each round's checkpoint move stamps its events with one `published_at`
 * (the statement's `now()`), so the distinct stamps count the rounds.
 */
import type pg from "pg";

/** Events and the transactions that wrote them since the snapshot. */
export interface CommitStats {
  readonly events: number;
  readonly transactions: number;
  /** Of those events, the ones the relay published (and checkpointed) so far, and its rounds that did. */
  readonly published: number;
  readonly relayRounds: number;
}

/** Takes a snapshot; calling the result counts what was committed after it. */
export async function commitProbe(db: pg.Pool): Promise<() => Promise<CommitStats>> {
  const since = await lastPosition(db);
  return async () => {
    const res = await db.query<CommitStats>(
      `SELECT count(*)::int AS events, count(DISTINCT transaction_id)::int AS transactions,
              count(published_at)::int AS published, count(DISTINCT published_at)::int AS "relayRounds"
         FROM events WHERE position > $1`,
      [since],
    );
    return res.rows[0] ?? { events: 0, transactions: 0, published: 0, relayRounds: 0 };
  };
}

async function lastPosition(db: pg.Pool): Promise<string> {
  const res = await db.query<{ p: string }>("SELECT coalesce(max(position), 0)::text AS p FROM events");
  return res.rows[0]?.p ?? "0";
}
