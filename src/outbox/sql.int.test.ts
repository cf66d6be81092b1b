/** The relay's SQL on a real database: the plan of the batch query and the checkpoint compare-and-set. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pg from "pg";
import { ORIGIN } from "../contracts";
import { GENERIC_PLANS_OPTION } from "../db/pool";
import { createTestDatabase, type TestDatabase } from "../testing";
import { type BatchRow, batchRows, checkpointOf } from "./outbox-row";
import { openRelaySession } from "./relay-session";
import {
  advanceCheckpointQuery,
  ENSURE_CHECKPOINT_SQL,
  READ_CHECKPOINT_SQL,
  SELECT_BATCH_SQL,
  selectBatchQuery,
  UNPUBLISHED_WHERE,
} from "./sql";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

async function insertUsers(count: number): Promise<void> {
  await db.pool.query(
    `INSERT INTO events (aggregate_type, aggregate_id, aggregate_version, type)
     SELECT 'user', gen_random_uuid(), 1, 'user.created' FROM generate_series(1, $1::int)`,
    [count],
  );
}

async function checkpoint() {
  const result = await db.pool.query<{ transaction_id: string; position: string }>(READ_CHECKPOINT_SQL, [
    "sql-test",
  ]);
  return checkpointOf(result.rows[0]!);
}

/** The plan of the batch query on a connection set up as the relay's is, from the origin. */
async function genericBatchPlan(): Promise<string> {
  const client = new pg.Client({ connectionString: db.url, options: GENERIC_PLANS_OPTION });
  await client.connect();
  try {
    await client.query(`PREPARE relay_batch(xid8, bigint, int) AS ${SELECT_BATCH_SQL}`);
    const plan = await client.query<{ "QUERY PLAN": string }>("EXPLAIN EXECUTE relay_batch('0', 0, 500)");
    return plan.rows.map((r) => r["QUERY PLAN"]).join("\n");
  } finally {
    await client.end();
  }
}

function expectOrderedIndexScan(plan: string): void {
  expect(plan).toContain("Index Scan using events_relay_order_idx on events e");
  // (The relay's bound looks its database's oid up in pg_database, a scan of a few catalog rows.)
  expect(plan).not.toMatch(/Sort|Seq Scan on events|Bitmap/);
}

describe("outbox SQL", () => {
  test("on a new deployment's empty table, the relay's generic plan already reads the batch in index order", async () => {
    // A generic plan is made with the statistics of the moment and kept until an ANALYZE of events (which
    // autovacuum runs once some rows were written) replans it: a relay on a fresh database plans before any
    // row exists. Its batch is then read in index order already; only the held-back check scans (and sorts)
    // the (still small) table until that first ANALYZE, after which the whole plan walks the index (next test).
    expect((await db.pool.query("SELECT count(*)::int AS n FROM events")).rows[0]).toEqual({ n: 0 });
    const plan = await genericBatchPlan();
    expect(plan).toContain("Index Scan using events_relay_order_idx on events e");
    expect(plan).not.toMatch(/Sort Key: e\.|Bitmap/);
  });

  test("the batch query walks events_relay_order_idx from the checkpoint, without a sort", async () => {
    await insertUsers(20_000);
    // Published up to here: the checkpoint sits on the last of these rows.
    const published = await db.pool.query<{ tx: string; pos: string }>(
      `SELECT transaction_id::text AS tx, position::text AS pos FROM events
        ORDER BY transaction_id DESC, position DESC LIMIT 1`,
    );
    const last = published.rows[0] as { tx: string; pos: string };
    await insertUsers(50);
    await db.pool.query("ANALYZE events");

    const plan = await db.pool.query<{ "QUERY PLAN": string }>(`EXPLAIN ${SELECT_BATCH_SQL}`, [
      last.tx,
      last.pos,
      500,
    ]);
    const text = plan.rows.map((r) => r["QUERY PLAN"]).join("\n");

    expect(text).toContain("events_relay_order_idx");
    // The backlog count outside the relay walks the same index from the checkpoint.
    const count = await db.pool.query<{ "QUERY PLAN": string }>(
      `EXPLAIN SELECT count(*) FROM events e WHERE ${UNPUBLISHED_WHERE}`,
      [last.tx, last.pos],
    );
    const countPlan = count.rows.map((r) => r["QUERY PLAN"]).join("\n");
    expect(countPlan).toContain("events_relay_order_idx");
    expect(countPlan).not.toContain("Seq Scan");
    expect(text).not.toMatch(/Sort|Seq Scan on events/);

    // The relay's connection plans it once, without the values (relay-session.ts): that plan walks the same
    // index in order even when the whole table is above the checkpoint, so a backlog is read batch by batch.
    expectOrderedIndexScan(await genericBatchPlan());
  });

  test("advancing is a compare-and-set of the checkpoint that counts the round, or nothing", async () => {
    await db.pool.query(ENSURE_CHECKPOINT_SQL, ["sql-test"]);
    // The previous test's rows count as published: this relay starts after the last of them.
    const marked = await db.pool.query<{ transaction_id: string; position: string }>(
      `SELECT e.transaction_id::text AS transaction_id, e.position::text AS position FROM events e
        WHERE e.position <= (SELECT max(position) - 50 FROM events)
        ORDER BY e.transaction_id DESC, e.position DESC LIMIT 1`,
    );
    const start = marked.rows[0] === undefined ? ORIGIN : checkpointOf(marked.rows[0]);
    await db.pool.query(
      `UPDATE outbox_relay_state SET last_published_transaction_id = $2::xid8, last_published_position = $3::bigint
        WHERE name = $1`,
      ["sql-test", start.transactionId.toString(), start.position.toString()],
    );
    const batch = selectBatchQuery(start, 10);
    // xmin spans the server: another test file's transaction may hold the rows back for a moment.
    let rows = batchRows((await db.pool.query<BatchRow>(batch.text, batch.values)).rows);
    for (let i = 0; i < 400 && rows.length < 10; i++) {
      await Bun.sleep(25);
      rows = batchRows((await db.pool.query<BatchRow>(batch.text, batch.values)).rows);
    }
    expect(rows).toHaveLength(10);
    const last = checkpointOf(rows.at(-1)!);
    const ids = rows.map((r) => r.event_id);
    const rounds = async () =>
      (await db.pool.query("SELECT rounds::int AS n FROM outbox_relay_state WHERE name = 'sql-test'")).rows[0]
        ?.n as number;

    const stale = advanceCheckpointQuery("sql-test", { transactionId: 1n, position: 1n }, last);
    expect((await db.pool.query(stale.text, stale.values)).rows[0]).toEqual({ advanced: 0 });
    expect(await checkpoint()).toEqual(start);
    expect(await rounds()).toBe(0);

    const move = advanceCheckpointQuery("sql-test", start, last);
    expect((await db.pool.query(move.text, move.values)).rows[0]).toEqual({ advanced: 1 });
    expect(await checkpoint()).toEqual(last);
    expect(await rounds()).toBe(1);
    const next = selectBatchQuery(last, 100);
    const after = batchRows((await db.pool.query<BatchRow>(next.text, next.values)).rows);
    expect(after).toHaveLength(40);
    expect(after.map((r) => r.event_id)).not.toContain(ids[0]);
  }, 20_000);

  test("the relay's session uses generic plans and commits its checkpoint moves without waiting for the flush", async () => {
    const session = await openRelaySession({
      databaseUrl: db.url,
      name: "sql-test-session",
      onNotify: () => {},
      onLost: () => {},
    });
    try {
      const show = async (setting: string) =>
        (await session.client.query<Record<string, string>>(`SHOW ${setting}`)).rows[0]?.[setting];
      expect(await show("plan_cache_mode")).toBe("force_generic_plan");
      expect(await show("synchronous_commit")).toBe("off");
    } finally {
      await session.close();
    }
  });
});
