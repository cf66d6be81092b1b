/**
 * Refresh cost at scale: 20k users, each with a trained active voice model, a conversation of two turns and
 * a document. A keyed refresh of one key must use indexes all the way down (its predicate pushed into the
 * source view, aggregates included) and touch a tiny fraction of the buffers (and time) of a full refresh;
 * a full refresh must not block readers.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type pg from "pg";
import { createTestDatabase, type TestDatabase } from "../testing";
import { readViews, type ViewName, viewNames } from "./views";

const USERS = 20_000;
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  const id = (prefix: string, i = "i") => `md5('${prefix}' || ${i})::uuid`;
  await db.pool.query(`
    INSERT INTO users (id, email, display_name, version)
      SELECT ${id("u")}, 'u' || i || '@example.com', 'User ' || i, 1 FROM generate_series(1, ${USERS}) i;
    INSERT INTO voice_models (id, user_id, name, sample_seconds, status, quality_score, trained_at, version)
      SELECT ${id("v")}, ${id("u")}, 'voice ' || i, 10, 'TRAINED', 0.5, now(), 2
        FROM generate_series(1, ${USERS}) i;
    INSERT INTO face_models (id, user_id, name, sample_seconds, version)
      SELECT ${id("f")}, ${id("u")}, 'face ' || i, 10, 1 FROM generate_series(1, ${USERS}) i;
    UPDATE users u SET active_voice_model_id = m.id FROM voice_models m WHERE m.user_id = u.id;
    INSERT INTO conversations (id, user_id, voice_model_id, turn_count, version)
      SELECT ${id("c")}, ${id("u")}, ${id("v")}, 2, 3 FROM generate_series(1, ${USERS}) i;
    INSERT INTO turns (conversation_id, sequence, speaker, text, audio_ms, latency_ms)
      SELECT ${id("c")}, s, CASE s WHEN 1 THEN 'USER' ELSE 'CLONE' END, 'hello', 100 * s, 10 * s
        FROM generate_series(1, ${USERS}) i, generate_series(1, 2) s;
    INSERT INTO documents (id, user_id, title, content_type, content, size_bytes, version)
      SELECT ${id("d")}, ${id("u")}, 'doc ' || i, 'text/plain', 'abc', 3, 1 FROM generate_series(1, ${USERS}) i;
  `);
  await db.pool.query("ANALYZE");
}, 60_000);
afterAll(() => db.drop());

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Shared Hit Blocks"?: number;
  "Shared Read Blocks"?: number;
  Plans?: PlanNode[];
}

/** EXPLAIN (ANALYZE, BUFFERS) of a refresh statement; `commit` false runs it in a rolled-back transaction. */
async function explain(
  view: ViewName,
  column: string | null,
  keys: string[] | null,
  commit: boolean,
): Promise<{ buffers: number; seqScans: string[]; ms: number }> {
  const client = await db.pool.connect();
  try {
    await client.query("BEGIN");
    const stmt = await client.query<{ s: string }>("SELECT read_view_refresh_statement($1, $2) AS s", [
      view,
      column,
    ]);
    const sql = `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${stmt.rows[0]?.s}`;
    const res = await client.query(sql, keys === null ? [] : [keys]);
    await client.query(commit ? "COMMIT" : "ROLLBACK");
    const [top] = res.rows[0]["QUERY PLAN"] as [{ Plan: PlanNode; "Execution Time": number }];
    const seqScans: string[] = [];
    const walk = (node: PlanNode) => {
      if (node["Node Type"] === "Seq Scan") seqScans.push(node["Relation Name"] ?? "?");
      for (const child of node.Plans ?? []) walk(child);
    };
    walk(top.Plan);
    const buffers = (top.Plan["Shared Hit Blocks"] ?? 0) + (top.Plan["Shared Read Blocks"] ?? 0);
    return { buffers, seqScans, ms: top["Execution Time"] };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

async function someKey(view: ViewName, column: string): Promise<string> {
  const res = await db.pool.query(`SELECT ${column} AS k FROM ${view} ORDER BY ${column} LIMIT 1 OFFSET 777`);
  return res.rows[0].k;
}

describe(`keyed refresh at scale (${USERS} users)`, () => {
  const full = new Map<ViewName, { buffers: number; ms: number }>();

  test("a full refresh fills every view (its buffers are the yardstick)", async () => {
    for (const view of viewNames) {
      const r = await explain(view, null, null, true);
      full.set(view, r);
    }
    await db.pool.query(`ANALYZE ${viewNames.join(", ")}`);
    const counts = await db.pool.query(
      `SELECT ${viewNames.map((v) => `(SELECT count(*)::int FROM ${v}) AS ${v}`).join(", ")}`,
    );
    expect(Object.values(counts.rows[0])).toEqual(viewNames.map(() => USERS));
  }, 60_000);

  for (const view of viewNames) {
    for (const column of readViews[view].refreshColumns) {
      test(`${view} by ${column}: index scans only, and a tiny fraction of a full refresh's buffers`, async () => {
        const key = await someKey(view, column);
        const keyed = await explain(view, column, [key], false);
        expect(keyed.seqScans).toEqual([]);
        const yardstick = full.get(view) ?? { buffers: 0, ms: 0 };
        expect(yardstick.buffers / keyed.buffers).toBeGreaterThan(200);
        expect(yardstick.ms / keyed.ms).toBeGreaterThan(50);
      });
    }
  }

  test("refresh_all_materialized_views() does not block a reader on another connection", async () => {
    // Make every row of one view stale, so the refresh has 20k rows to rewrite.
    await db.pool.query("UPDATE user_statistics_view SET turns_total = -1");
    const refresher: pg.PoolClient = await db.pool.connect();
    const reader: pg.PoolClient = await db.pool.connect();
    try {
      await refresher.query("BEGIN");
      const started = performance.now();
      let refreshing = true;
      const refresh = refresher.query("SELECT refresh_all_materialized_views() AS n").finally(() => {
        refreshing = false;
      });
      const reads: { ms: number; stale: number; during: boolean }[] = [];
      while (refreshing) {
        const t0 = performance.now();
        const r = await reader.query(
          "SELECT count(*) FILTER (WHERE turns_total = -1)::int AS stale FROM user_statistics_view",
        );
        reads.push({ ms: performance.now() - t0, stale: r.rows[0].stale, during: refreshing });
        await Bun.sleep(5);
      }
      const changed = (await refresh).rows[0].n;
      const refreshMs = performance.now() - started;
      // Still uncommitted: the reader sees every old row, and is not blocked either.
      const t0 = performance.now();
      const before = await reader.query(
        "SELECT count(*)::int AS n FROM user_statistics_view WHERE turns_total = -1",
      );
      const uncommittedReadMs = performance.now() - t0;
      await refresher.query("COMMIT");
      const after = await reader.query(
        "SELECT count(*)::int AS n FROM user_statistics_view WHERE turns_total = -1",
      );

      expect(changed).toBe(USERS);
      expect(reads.filter((r) => r.during).length).toBeGreaterThan(2);
      for (const r of reads) expect(r.stale).toBe(USERS);
      expect(Math.max(...reads.map((r) => r.ms))).toBeLessThan(refreshMs / 3);
      expect(before.rows[0].n).toBe(USERS);
      expect(uncommittedReadMs).toBeLessThan(refreshMs / 3);
      expect(after.rows[0].n).toBe(0);
    } finally {
      await refresher.query("ROLLBACK").catch(() => {});
      refresher.release();
      reader.release();
    }
  }, 60_000);
});
