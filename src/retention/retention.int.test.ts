/**
 * Retention on real Postgres: rows past COMMAND_RESULT_RETENTION (timestamps set back) are deleted in batches
 * of at most `batchRows`, oldest first, fresh ones stay; one process per database leads (advisory lock).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { RetainedTable } from "../metrics";
import { createTestDatabase, type TestDatabase } from "../testing";
import { pruneCommandStore, startRetention } from ".";

const DAY = 86_400_000;
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

/** Inserts `n` results and blobs named `prefix-i`, created `ageMs` ago. */
async function insert(prefix: string, n: number, ageMs: number, blobs = true): Promise<void> {
  await db.pool.query(
    `INSERT INTO command_results (command_id, command_type, aggregate_type, aggregate_id, payload_hash, result, created_at)
     SELECT $1 || '-' || i, 'CreateUser', 'user', gen_random_uuid(), 'h', '{"ok": true}', now() - $3::bigint * interval '1 millisecond'
       FROM generate_series(1, $2::int) i`,
    [prefix, n, ageMs],
  );
  if (blobs) {
    await db.pool.query(
      `INSERT INTO command_blobs (command_id, content, created_at)
       SELECT $1 || '-' || i, '\\x0102', now() - $3::bigint * interval '1 millisecond' FROM generate_series(1, $2::int) i`,
      [prefix, n, ageMs],
    );
  }
}

const count = async (table: RetainedTable, prefix: string) =>
  Number(
    (await db.pool.query(`SELECT count(*) AS n FROM ${table} WHERE command_id LIKE $1 || '-%'`, [prefix]))
      .rows[0].n,
  );

describe("pruneCommandStore", () => {
  test("deletes what is past the retention in batches of at most batchRows; fresh rows stay", async () => {
    await insert("old", 2_500, 8 * DAY);
    await insert("edge", 20, 7 * DAY - 60_000); // a minute inside the retention
    await insert("fresh", 30, 0);
    const batches: [RetainedTable, number][] = [];
    const report = await pruneCommandStore(db.pool, {
      retentionMs: 7 * DAY,
      batchRows: 1_000,
      onBatch: (table, rows) => batches.push([table, rows]),
    });
    expect(batches).toEqual([
      ["command_results", 1_000],
      ["command_results", 1_000],
      ["command_results", 500],
      ["command_blobs", 1_000],
      ["command_blobs", 1_000],
      ["command_blobs", 500],
    ]);
    expect(report).toEqual({ rows: { command_results: 2_500, command_blobs: 2_500 }, batches: 6 });
    for (const table of ["command_results", "command_blobs"] as const) {
      expect(await count(table, "old")).toBe(0);
      expect(await count(table, "edge")).toBe(20);
      expect(await count(table, "fresh")).toBe(30);
    }
    // Nothing left: one empty batch per table.
    expect((await pruneCommandStore(db.pool, { retentionMs: 7 * DAY, batchRows: 1_000 })).batches).toBe(2);
  });

  test("one process per database leads; the standby takes over when the leader stops", async () => {
    const a = startRetention({ pool: db.pool, retentionMs: 7 * DAY, batchRows: 100, intervalMs: 60_000 });
    const b = startRetention({ pool: db.pool, retentionMs: 7 * DAY, batchRows: 100, intervalMs: 60_000 });
    try {
      await a.runOnce();
      await b.runOnce();
      expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
      const [leader, standby] = a.isLeader() ? [a, b] : [b, a];
      await insert("led", 150, 8 * DAY);
      expect(await standby.runOnce()).toBeUndefined();
      expect(await count("command_results", "led")).toBe(150);
      expect((await leader.runOnce())?.rows.command_results).toBe(150);
      await leader.stop();
      await insert("next", 10, 8 * DAY, false);
      expect((await standby.runOnce())?.rows.command_results).toBe(10);
      expect(standby.isLeader()).toBe(true);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
