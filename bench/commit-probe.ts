/**
 * How many commands share a commit (group commit) while the command path runs: events written and distinct
 * transactions among them, counted from the `events` table between two snapshots. Also how many events the
 * outbox relay published a round: the events at or below its checkpoint, and the rounds it counts in
 * `outbox_relay_state.rounds` (one a checkpoint move; a round that also published events committed before
 * the snapshot counts too, so right after a backlog the events a round are slightly low).
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
  const roundsBefore = await relayRounds(db);
  return async () => {
    const res = await db.query<Omit<CommitStats, "relayRounds">>(
      `SELECT count(*)::int AS events, count(DISTINCT transaction_id)::int AS transactions,
              (count(*) FILTER (WHERE event_published(transaction_id, position)))::int AS published
         FROM events WHERE position > $1`,
      [since],
    );
    const counted = res.rows[0] ?? { events: 0, transactions: 0, published: 0 };
    return { ...counted, relayRounds: (await relayRounds(db)) - roundsBefore };
  };
}

async function relayRounds(db: pg.Pool): Promise<number> {
  const res = await db.query<{ n: string }>(
    "SELECT coalesce(sum(rounds), 0)::text AS n FROM outbox_relay_state WHERE name = 'default'",
  );
  return Number(res.rows[0]?.n ?? 0);
}

async function lastPosition(db: pg.Pool): Promise<string> {
  const res = await db.query<{ p: string }>("SELECT coalesce(max(position), 0)::text AS p FROM events");
  return res.rows[0]?.p ?? "0";
}
