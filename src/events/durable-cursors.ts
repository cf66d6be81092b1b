/**
 * Durable cursors for the in-process event bus (embedded mode), kept in Postgres
 * (sql/0021_event_consumer_cursors.sql), so that work accepted before a crash is not lost: a subscription's
 * cursor is the relay-order point up to which it handled every event; at start, the events the relay had
 * already published after the lowest cursor are read again from the outbox ({@link replayPublished}) and put on
 * the bus before the relay starts, and each subscription skips those at or below its own cursor.
 */
import type { StreamPoint } from "../contracts";
import { comparePoints, ORIGIN } from "../contracts";
import type { PublishedEvent } from "../outbox";
import { type OutboxRow, toPublishedEvent } from "../outbox/outbox-row";
import type { SqlClient } from "../write-model";

/** Where subscriptions keep their cursors. */
export interface CursorStore {
  /** The cursor of `name`, or undefined when it never had one. */
  load(name: string): Promise<StreamPoint | undefined>;
  save(name: string, point: StreamPoint): Promise<void>;
}

/** A {@link CursorStore} in the `event_consumer_cursors` table. */
export function createPgCursorStore(db: SqlClient): CursorStore {
  return {
    async load(name) {
      const res = await db.query<{ transaction_id: string; position: string }>(
        "SELECT transaction_id::text, position::text FROM event_consumer_cursors WHERE name = $1",
        [name],
      );
      const row = res.rows[0];
      return row ? { transactionId: BigInt(row.transaction_id), position: BigInt(row.position) } : undefined;
    },
    async save(name, point) {
      await db.query(
        `INSERT INTO event_consumer_cursors (name, transaction_id, position) VALUES ($1, $2::xid8, $3)
         ON CONFLICT (name) DO UPDATE SET transaction_id = EXCLUDED.transaction_id, position = EXCLUDED.position,
                                          updated_at = now()
          WHERE (event_consumer_cursors.transaction_id, event_consumer_cursors.position)
                < (EXCLUDED.transaction_id, EXCLUDED.position)`,
        [name, point.transactionId.toString(), point.position.toString()],
      );
    },
  };
}

/**
 * The events the `default` relay has published after the lowest cursor of `names` (a name without a cursor
 * starts at the origin: it has handled nothing), in relay order.
 */
export async function replayPublished(db: SqlClient, names: readonly string[]): Promise<PublishedEvent[]> {
  if (names.length === 0) return [];
  const store = createPgCursorStore(db);
  let from: StreamPoint | undefined;
  for (const name of names) {
    const point = (await store.load(name)) ?? ORIGIN;
    if (from === undefined || comparePoints(point, from) < 0) from = point;
  }
  const start = from ?? ORIGIN;
  const res = await db.query<OutboxRow>(
    `SELECT e.event_id, e.type, e.aggregate_type, e.aggregate_id, e.aggregate_version::text AS aggregate_version,
            e.position::text AS position, e.transaction_id::text AS transaction_id, e.committed_at, e.payload,
            e.metadata
       FROM events e, outbox_relay_state r
      WHERE r.name = 'default'
        AND (e.transaction_id, e.position) > ($1::xid8, $2::bigint)
        AND (e.transaction_id, e.position) <= (r.last_published_transaction_id, r.last_published_position)
      ORDER BY e.transaction_id, e.position`,
    [start.transactionId.toString(), start.position.toString()],
  );
  return res.rows.map(toPublishedEvent);
}
