/** The relay's SQL on a real database: the plan of the batch query and the checkpoint compare-and-set. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ORIGIN } from "../commands/consistency-token";
import { createTestDatabase, type TestDatabase } from "../testing";
import { checkpointOf, type OutboxRow } from "./outbox-row";
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

describe("outbox SQL", () => {
  test("the batch query walks events_relay_order_idx from the checkpoint, without a sort", async () => {
    await insertUsers(20_000);
    // Published up to here: the checkpoint sits on the last of these rows.
    const published = await db.pool.query<{ tx: string; pos: string }>(
      `UPDATE events SET published_at = now()
        RETURNING transaction_id::text AS tx, position::text AS pos`,
    );
    const last = published.rows.reduce((a, b) => (BigInt(b.pos) > BigInt(a.pos) ? b : a));
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
    expect(text).not.toMatch(/Sort|Seq Scan/);
  });

  test("advancing is a compare-and-set that marks the rows with the checkpoint, or nothing", async () => {
    await db.pool.query(ENSURE_CHECKPOINT_SQL, ["sql-test"]);
    const batch = selectBatchQuery(ORIGIN, 10);
    // xmin spans the server: another test file's transaction may hold the rows back for a moment.
    let rows = (await db.pool.query<OutboxRow>(batch.text, batch.values)).rows;
    for (let i = 0; i < 400 && rows.length < 10; i++) {
      await Bun.sleep(25);
      rows = (await db.pool.query<OutboxRow>(batch.text, batch.values)).rows;
    }
    expect(rows).toHaveLength(10);
    const last = checkpointOf(rows.at(-1)!);
    const ids = rows.map((r) => r.event_id);

    const stale = advanceCheckpointQuery("sql-test", { transactionId: 1n, position: 1n }, last, ids);
    expect((await db.pool.query(stale.text, stale.values)).rows[0]).toEqual({ advanced: 0, marked: 0 });
    expect(await checkpoint()).toEqual(ORIGIN);

    const move = advanceCheckpointQuery("sql-test", ORIGIN, last, ids);
    expect((await db.pool.query(move.text, move.values)).rows[0]).toEqual({ advanced: 1, marked: 10 });
    expect(await checkpoint()).toEqual(last);
    const next = selectBatchQuery(last, 100);
    const after = (await db.pool.query<OutboxRow>(next.text, next.values)).rows;
    expect(after).toHaveLength(40);
    expect(after.map((r) => r.event_id)).not.toContain(ids[0]);
  }, 20_000);
});
