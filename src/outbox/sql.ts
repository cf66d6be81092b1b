/**
 * The relay's SQL, in one place so that it is documented and testable (`sql.int.test.ts` checks the plan).
 *
 * Order. A row is published only once its writer finished before every transaction still running that may
 * write to this database, in (transaction_id, position) order: `transaction_id` below the relay's bound
 * ({@link RELAY_BOUND}), the oldest running transaction of the statement's snapshot that is not known to be
 * another database's (or the snapshot's xmax when there is none). Every transaction that could still append
 * has an xid at or above that bound, so no row can ever appear below a point the relay has passed: the order
 * never goes back and the checkpoint is a complete "everything up to here". (pg_current_snapshot() is the
 * statement's own snapshot: every xid below the bound is finished in it, or another database's, which cannot
 * write here, so every such row is also visible to it.)
 *
 * The scan walks `events_relay_order_idx` on (transaction_id, position) from the checkpoint, so a round costs
 * O(batch) however large the table grows; the row comparison with the checkpoint and the bound are index
 * conditions on it. The relay's connection uses generic plans (planned once, not at every round), and this
 * holds for the generic plan too because the batch query has no condition outside the index.
 *
 * The checkpoint is the only record of what was published: an event is published when it is at or below the
 * `default` relay's checkpoint (sql/0029 dropped the per-row `published_at` mark, which cost the command path
 * about as many WAL records as a third of its own writes). The one caveat: run one relay name per database. A
 * second name starts from the origin and publishes the whole history again (JetStream drops copies only
 * within its two-minute duplicate window), and what counts as published (the backlog metric, `cli lag`, the
 * embedded drain) is read against the `default` relay's checkpoint.
 */
import type { StreamPoint } from "../contracts";
import type { OutboxRow } from "./outbox-row";

/** A query ready for `client.query`. */
export interface SqlQuery {
  /** Prepared-statement name: the relay runs the same few statements every round. */
  readonly name: string;
  readonly text: string;
  readonly values: unknown[];
}

/**
 * Takes the relay's leadership for a name, without waiting: a session-level advisory lock, held until
 * the session unlocks it or its connection ends. $1 = relay name. Returns `{ locked: boolean }`.
 */
export const TRY_LOCK_SQL =
  "SELECT pg_try_advisory_lock(hashtextextended('clone_outbox_relay:' || $1::text, 0)) AS locked";

/** Creates the checkpoint row of a relay name at the origin if it is missing. $1 = relay name. */
export const ENSURE_CHECKPOINT_SQL =
  "INSERT INTO outbox_relay_state (name) VALUES ($1) ON CONFLICT (name) DO NOTHING";

/**
 * The condition "not yet published by the `default` relay" on `events e`, for counts and checks outside the
 * relay (backlog metric, `cli lag`, the embedded drain): the rows above its checkpoint, `$1`/`$2` as
 * {@link unpublishedParams} reads them. An index range on `events_relay_order_idx`, planned with the
 * checkpoint's actual values (read first: a checkpoint read in the same statement is unknown to the planner,
 * which then scans the whole table; sql/0029's `event_published` reads it per row, for a few rows only).
 */
export const UNPUBLISHED_WHERE = "(e.transaction_id, e.position) > ($1::xid8, $2::bigint)";

/** Reads the checkpoint. $1 = relay name. Returns `{ transaction_id, position }` as decimal strings. */
export const READ_CHECKPOINT_SQL = `SELECT last_published_transaction_id::text AS transaction_id,
       last_published_position::text AS position
  FROM outbox_relay_state
 WHERE name = $1`;

/** The `default` relay's checkpoint as the parameters of {@link UNPUBLISHED_WHERE} (the origin before any). */
export async function unpublishedParams(client: {
  query(text: string, values: unknown[]): Promise<{ readonly rows: readonly unknown[] }>;
}): Promise<[string, string]> {
  const res = await client.query(READ_CHECKPOINT_SQL, ["default"]);
  const row = res.rows[0] as { transaction_id?: string; position?: string } | undefined;
  return [row?.transaction_id ?? "0", row?.position ?? "0"];
}

/** The columns of an {@link OutboxRow}, read from `events e`. */
const BATCH_COLUMNS = `e.event_id, e.type, e.aggregate_type, e.aggregate_id,
       e.aggregate_version::text AS aggregate_version, e.position::text AS position,
       e.transaction_id::text AS transaction_id, e.committed_at, e.payload, e.metadata`;

/**
 * The relay's bound (see the module comment), an xid8. Transaction ids and snapshots span the whole Postgres
 * server, so pg_snapshot_xmin alone would hold this database's events back behind any write transaction
 * anywhere on the server (another deployment's, a test's migration, a DROP DATABASE). A running xid is
 * skipped only when pg_stat_activity shows it in another database: a backend writes to one database for its
 * whole life, and an xid it does not show (already finished, a prepared transaction, a role whose activity
 * this one may not read) counts as this database's, which is only slower, never out of order.
 */
const RELAY_BOUND = `coalesce(
      (SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
        WHERE xid(x) NOT IN (SELECT a.backend_xid FROM pg_stat_get_activity(NULL) a
                              WHERE a.backend_xid IS NOT NULL
                                AND a.datid <> (SELECT oid FROM pg_database WHERE datname = current_database()))),
      pg_snapshot_xmax(pg_current_snapshot()))`;

/**
 * The bound, and whether committed events wait behind a transaction that is still running (above the
 * checkpoint, at or above the bound), as one row `(bound, held_back)`, computed once a statement on its
 * snapshot (OFFSET 0 keeps the planner from pulling it into the batch, which would run the check once a row).
 * Such a transaction may never append (a long read-write job), so no wake-up may come when it ends: the relay
 * retries soon instead of waiting a whole poll. Rows of transactions still running are invisible here. Both
 * conditions are on `events_relay_order_idx` and the first row in its order is asked for (a scalar subquery:
 * an EXISTS would drop the ORDER BY and LIMIT), so the check walks the index from the later of the two even in
 * the relay's generic plan; a condition outside the index, or a plain EXISTS, made that plan scan the whole
 * table once it had grown.
 */
const boundRow = (checkpoint: string) => `(SELECT b.bound,
          coalesce((SELECT true FROM events h
                     WHERE h.transaction_id >= b.bound AND (h.transaction_id, h.position) > ${checkpoint}
                     ORDER BY h.transaction_id, h.position LIMIT 1), false) AS held_back
     FROM (SELECT ${RELAY_BOUND} AS bound OFFSET 0) b
   OFFSET 0)`;

/** A batch after `checkpoint`, of at most `limit` rows, with `held_back`: see {@link SELECT_BATCH_SQL}. */
const batchWithHeldBack = (checkpoint: string, limit: string) => `SELECT bound.held_back, b.*
  FROM ${boundRow(checkpoint)} bound
  LEFT JOIN LATERAL (
    SELECT ${BATCH_COLUMNS}
      FROM events e
     WHERE e.transaction_id < bound.bound
       AND (e.transaction_id, e.position) > ${checkpoint}
     ORDER BY e.transaction_id, e.position
     LIMIT ${limit}
  ) b ON true`;

/**
 * The next events to publish, as {@link OutboxRow}s, each also carrying `held_back` (see
 * `boundRow`); always at least one row, so a round knows both in one statement: an empty batch is
 * one row whose event columns are null ({@link batchRows} drops it). The ORDER BY names the table's columns
 * (`e.`), not the text aliases of the select list: ordering by those would sort decimal strings.
 * $1 = checkpoint xid8, $2 = checkpoint position, $3 = batch size.
 */
export const SELECT_BATCH_SQL = batchWithHeldBack("($1::xid8, $2::bigint)", "$3");

/** The checkpoint move of {@link ADVANCE_CHECKPOINT_SQL} and {@link ADVANCE_AND_SELECT_SQL}: CTE `advanced`. */
const ADVANCE_CTES = `WITH advanced AS (
  UPDATE outbox_relay_state
     SET last_published_transaction_id = $4::xid8,
         last_published_position = $5::bigint,
         rounds = rounds + 1,
         updated_at = now()
   WHERE name = $1
     AND last_published_transaction_id = $2::xid8
     AND last_published_position = $3::bigint
  RETURNING name
)`;

/**
 * Moves the checkpoint from one point to the next (what it passes is published) and counts the round. The
 * move is a compare-and-set on the old point: it does nothing and returns `advanced = 0` when the checkpoint
 * is no longer where this relay read it.
 * $1 = name, $2/$3 = old (xid8, position), $4/$5 = new (xid8, position). Returns `{ advanced }` (0 or 1).
 */
export const ADVANCE_CHECKPOINT_SQL = `${ADVANCE_CTES}
SELECT (SELECT count(*) FROM advanced)::int AS advanced`;

/**
 * {@link ADVANCE_CHECKPOINT_SQL} and then {@link SELECT_BATCH_SQL} from the new point, in one statement: a
 * relay that goes on at once (a wake-up came while it published, or the batch was full) saves a round trip,
 * and the turns that woke it wait for one statement, not two. The batch is read whether or not the move
 * succeeded; the caller drops it when `advanced` is 0.
 * $1..$5 as {@link ADVANCE_CHECKPOINT_SQL}, $6 = batch size. The rows of {@link SELECT_BATCH_SQL}, each
 * with `advanced` (1, or 0 when the move did not happen).
 */
export const ADVANCE_AND_SELECT_SQL = `${ADVANCE_CTES}
SELECT (SELECT count(*) FROM advanced)::int AS advanced, batch.*
  FROM (${batchWithHeldBack("($4::xid8, $5::bigint)", "$6")}) batch`;

/** The batch query after `checkpoint`, at most `batchSize` rows. */
export function selectBatchQuery(checkpoint: StreamPoint, batchSize: number): SqlQuery {
  return {
    name: "outbox_select_batch",
    text: SELECT_BATCH_SQL,
    values: [checkpoint.transactionId.toString(), checkpoint.position.toString(), batchSize],
  };
}

/** The checkpoint move from `from` to `to`. */
export function advanceCheckpointQuery(name: string, from: StreamPoint, to: StreamPoint): SqlQuery {
  return {
    name: "outbox_advance_checkpoint",
    text: ADVANCE_CHECKPOINT_SQL,
    values: [
      name,
      from.transactionId.toString(),
      from.position.toString(),
      to.transactionId.toString(),
      to.position.toString(),
    ],
  };
}

/** The checkpoint move from `from` to `to` and the batch after `to`, see {@link ADVANCE_AND_SELECT_SQL}. */
export function advanceAndSelectQuery(
  name: string,
  from: StreamPoint,
  to: StreamPoint,
  batchSize: number,
): SqlQuery {
  const advance = advanceCheckpointQuery(name, from, to);
  return {
    name: "outbox_advance_select",
    text: ADVANCE_AND_SELECT_SQL,
    values: [...advance.values, batchSize],
  };
}
