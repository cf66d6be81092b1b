/**
 * Fills a fresh benchmark database fast, straight into the write model with set-based INSERTs (no commands,
 * no events): `users` users, each with one ACTIVE conversation of two turns, and a processed document for one
 * user in ten; then `refresh_all_materialized_views()` so that the six views hold every row, and VACUUM
 * ANALYZE so the planner knows the tables' sizes, as in a deployment that has been running (autovacuum).
 *
 * The rows are what the command path would have written (versions count the events they stand for), so
 * later commands on them behave as on any other aggregate.
 */
import type pg from "pg";

/** A seeded user and its conversation. */
export interface SeededUser {
  readonly userId: string;
  readonly conversationId: string;
}

/** What was seeded, and how long each step took. */
export interface SeedResult {
  readonly users: readonly SeededUser[];
  /** The INSERTs and the ANALYZE of the write model. */
  readonly writeModelMs: number;
  /** `refresh_all_materialized_views()`. */
  readonly refreshMs: number;
  readonly analyzeMs: number;
}

const TURNS_PER_CONVERSATION = 2;
const DOCUMENT_EVERY = 10;
const DOCUMENT_TEXT = "Notes from my week: the trip, the garden, and what I want to remember.";

/** Seeds `users` users (the database must be freshly migrated and empty). */
export async function seedDatabase(pool: pg.Pool, users: number): Promise<SeedResult> {
  const t0 = performance.now();
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    // The rows are consistent by construction: skip the per-row foreign-key triggers (superuser only, as
    // the test server's admin role is; elsewhere the checks run and seeding is only slower).
    const su = await client.query<{ su: boolean }>(
      "SELECT rolsuper AS su FROM pg_roles WHERE rolname = current_user",
    );
    if (su.rows[0]?.su) await client.query("SET LOCAL session_replication_role = replica");
    await client.query(
      `INSERT INTO users (id, email, display_name, created_at, updated_at, version)
       SELECT gen_random_uuid(), 'seed' || i || '@bench.test', 'Seed user ' || i,
              now() - make_interval(secs => i), now() - make_interval(secs => i), 1
         FROM generate_series(1, $1::int) AS i`,
      [users],
    );
    await client.query(
      `INSERT INTO conversations (id, user_id, status, turn_count, started_at, updated_at, version)
       SELECT gen_random_uuid(), u.id, 'ACTIVE', $1::int, u.created_at, u.created_at, $1::int + 1
         FROM users u`,
      [TURNS_PER_CONVERSATION],
    );
    await client.query(
      `INSERT INTO turns (conversation_id, sequence, speaker, text, audio_ms, latency_ms, recorded_at)
       SELECT c.id, s, CASE WHEN s % 2 = 1 THEN 'USER' ELSE 'CLONE' END, 'seeded turn ' || s, 2400, 180,
              c.started_at + make_interval(secs => s)
         FROM conversations c CROSS JOIN generate_series(1, $1::int) AS s`,
      [TURNS_PER_CONVERSATION],
    );
    await client.query(
      `INSERT INTO documents (id, user_id, title, content_type, content, size_bytes, status, word_count,
                              chunk_count, uploaded_at, processed_at, updated_at, version)
       SELECT gen_random_uuid(), u.id, 'Notes', 'text/plain', convert_to($1, 'UTF8'),
              octet_length(convert_to($1, 'UTF8')), 'PROCESSED', 13, 1, u.created_at, u.created_at,
              u.created_at, 2
         FROM (SELECT id, created_at, row_number() OVER () AS n FROM users) u
        WHERE u.n % $2::int = 0`,
      [DOCUMENT_TEXT, DOCUMENT_EVERY],
    );
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
  // Statistics first: without them the planner picks a hash join inside each LATERAL aggregate of the
  // views' sources, which scans every turn once per user (minutes at 100k users instead of seconds).
  await pool.query("ANALYZE");
  const t1 = performance.now();
  await pool.query("SELECT refresh_all_materialized_views()");
  const t2 = performance.now();
  await pool.query("VACUUM ANALYZE");
  const t3 = performance.now();
  const res = await pool.query<{ user_id: string; conversation_id: string }>(
    "SELECT c.user_id, c.id AS conversation_id FROM conversations c ORDER BY c.user_id",
  );
  return {
    users: res.rows.map((r) => ({ userId: r.user_id, conversationId: r.conversation_id })),
    writeModelMs: t1 - t0,
    refreshMs: t2 - t1,
    analyzeMs: t3 - t2,
  };
}
