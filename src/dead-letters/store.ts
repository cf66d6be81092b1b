/**
 * The dead-letter store (sql/0016_dead_letters.sql): one row per item that failed deterministically, with
 * where it failed, why, how often and when, and the item itself (or a reference to it), so it can be shown,
 * retried or discarded (`bun run cli dead-letters`).
 */
import type { SqlClient } from "../write-model";
import { storableText } from "./classify";

/** Where dead letters come from: the consumers that retry work. */
export const deadLetterSources = ["document-processor", "command", "consistency", "user-erasure"] as const;

/** A consumer that dead-letters. */
export type DeadLetterSource = (typeof deadLetterSources)[number];

/** A failure to record. */
export interface DeadLetterInput {
  readonly source: DeadLetterSource;
  /** The consumer within the source: the durable name, the command type, the view. */
  readonly consumer: string;
  /** The failing item's identity within the source (event id, command id, view row key). */
  readonly key: string;
  readonly error: string;
  /** Failed attempts this time (added to those recorded before). */
  readonly attempts: number;
  /** The item itself, JSON-safe, or a reference to where it is. */
  readonly payload: unknown;
}

/** A stored dead letter. */
export interface DeadLetter {
  readonly id: string;
  readonly source: DeadLetterSource;
  readonly consumer: string;
  readonly key: string;
  readonly error: string;
  readonly attempts: number;
  readonly firstFailedAt: string;
  readonly lastFailedAt: string;
  readonly retryRequestedAt: string | null;
  readonly payload: unknown;
}

const columns = `id::text, source, consumer, item_key, error, attempts, first_failed_at, last_failed_at,
                 retry_requested_at, payload`;

function toDeadLetter(row: Record<string, unknown>): DeadLetter {
  const time = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null ? null : String(v));
  return {
    id: row.id as string,
    source: row.source as DeadLetterSource,
    consumer: row.consumer as string,
    key: row.item_key as string,
    error: row.error as string,
    attempts: Number(row.attempts),
    firstFailedAt: time(row.first_failed_at) as string,
    lastFailedAt: time(row.last_failed_at) as string,
    retryRequestedAt: time(row.retry_requested_at),
    payload: row.payload,
  };
}

/** Records a failure: a new row, or one more failure of an item already there (its retry request is done). */
export async function recordDeadLetter(db: SqlClient, input: DeadLetterInput): Promise<void> {
  await db.query(
    `INSERT INTO dead_letters (source, consumer, item_key, error, attempts, payload)
     VALUES ($1, $2, $3, $4, $5, $6::json)
     ON CONFLICT (source, item_key) DO UPDATE
        SET consumer = EXCLUDED.consumer, error = EXCLUDED.error, payload = EXCLUDED.payload,
            attempts = dead_letters.attempts + EXCLUDED.attempts, last_failed_at = now(),
            retry_requested_at = NULL`,
    [
      input.source,
      storableText(input.consumer),
      storableText(input.key),
      storableText(input.error),
      Math.max(1, input.attempts),
      JSON.stringify(input.payload ?? null),
    ],
  );
}

/** Removes the dead letter of an item (it succeeded, or was discarded). True when there was one. */
export async function resolveDeadLetter(
  db: SqlClient,
  source: DeadLetterSource,
  key: string,
): Promise<boolean> {
  const res = await db.query("DELETE FROM dead_letters WHERE source = $1 AND item_key = $2", [source, key]);
  return (res.rowCount ?? 0) > 0;
}

/** Dead letters, oldest failure first. */
export async function listDeadLetters(
  db: SqlClient,
  filter: { readonly source?: string; readonly limit?: number } = {},
): Promise<DeadLetter[]> {
  const res = await db.query(
    `SELECT ${columns} FROM dead_letters WHERE $1::text IS NULL OR source = $1 ORDER BY first_failed_at, id LIMIT $2`,
    [filter.source ?? null, filter.limit ?? 100],
  );
  return (res.rows as Record<string, unknown>[]).map(toDeadLetter);
}

/** One dead letter by id, or undefined. */
export async function getDeadLetter(db: SqlClient, id: string): Promise<DeadLetter | undefined> {
  if (!/^\d{1,18}$/.test(id)) return undefined;
  const res = await db.query(`SELECT ${columns} FROM dead_letters WHERE id = $1`, [id]);
  const row = res.rows[0] as Record<string, unknown> | undefined;
  return row ? toDeadLetter(row) : undefined;
}

/** Asks the consumer of a dead letter to run it again. False when there is no such dead letter. */
export async function requestRetry(db: SqlClient, id: string): Promise<boolean> {
  if (!/^\d{1,18}$/.test(id)) return false;
  const res = await db.query("UPDATE dead_letters SET retry_requested_at = now() WHERE id = $1", [id]);
  return (res.rowCount ?? 0) > 0;
}

/** Deletes a dead letter for good. False when there is no such dead letter. */
export async function discardDeadLetter(db: SqlClient, id: string): Promise<boolean> {
  if (!/^\d{1,18}$/.test(id)) return false;
  const res = await db.query("DELETE FROM dead_letters WHERE id = $1", [id]);
  return (res.rowCount ?? 0) > 0;
}

/**
 * Takes the retry requests of a source: they are cleared as they are taken, so two consumers never run the
 * same one (a failed retry records the dead letter again).
 */
export async function takeRetryRequests(
  db: SqlClient,
  source: DeadLetterSource,
  limit = 16,
): Promise<DeadLetter[]> {
  const res = await db.query(
    `UPDATE dead_letters SET retry_requested_at = NULL
      WHERE id IN (SELECT id FROM dead_letters WHERE source = $1 AND retry_requested_at IS NOT NULL
                    ORDER BY retry_requested_at LIMIT $2 FOR UPDATE SKIP LOCKED)
      RETURNING ${columns}`,
    [source, limit],
  );
  return (res.rows as Record<string, unknown>[]).map(toDeadLetter);
}

/** Dead letters per source, for the `clone_dead_letters` gauge. */
export async function countDeadLetters(db: SqlClient): Promise<Map<string, number>> {
  const res = await db.query<{ source: string; n: string }>(
    "SELECT source, count(*)::bigint AS n FROM dead_letters GROUP BY source",
  );
  return new Map(res.rows.map((r) => [r.source, Number(r.n)]));
}
