/**
 * A relay round on a real database, with a publisher that acks everything: the checkpoint move of a round
 * that goes on is carried into the next round's statement, and a move that no longer fits is refused.
 *
 * xmin spans the whole Postgres server: other test files' transactions can hold rows back for a moment, so
 * rounds are retried until they see what was appended.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type pg from "pg";
import { ORIGIN, type StreamPoint } from "../contracts";
import { GENERIC_PLANS_OPTION } from "../db/pool";
import { createTestDatabase, type TestDatabase } from "../testing";
import { checkpointOf } from "./outbox-row";
import { type PublishedEvent, pointOfPublishedEvent } from "./published-event";
import { type RoundContext, type RoundResult, runRound } from "./round";
import { ADVANCE_AND_SELECT_SQL, ENSURE_CHECKPOINT_SQL, READ_CHECKPOINT_SQL } from "./sql";

let db: TestDatabase;
let client: pg.PoolClient;
const published: PublishedEvent[] = [];
const NAME = "round-test";

beforeAll(async () => {
  db = await createTestDatabase();
  client = await db.pool.connect();
  await client.query(ENSURE_CHECKPOINT_SQL, [NAME]);
});
afterAll(async () => {
  client.release();
  await db.drop();
});

async function append(count: number): Promise<void> {
  await db.pool.query(
    `INSERT INTO events (aggregate_type, aggregate_id, aggregate_version, type)
     SELECT 'user', gen_random_uuid(), 1, 'user.created' FROM generate_series(1, $1::int)`,
    [count],
  );
}

async function checkpoint(): Promise<StreamPoint> {
  const result = await db.pool.query<{ transaction_id: string; position: string }>(READ_CHECKPOINT_SQL, [
    NAME,
  ]);
  return result.rows[0] === undefined ? ORIGIN : checkpointOf(result.rows[0]);
}

/** Events above this relay's checkpoint: not published by it yet. */
async function unpublished(): Promise<number> {
  const result = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM events e
      WHERE (e.transaction_id, e.position) >
            coalesce((SELECT (s.last_published_transaction_id, s.last_published_position)
                        FROM outbox_relay_state s WHERE s.name = $1), ('0'::xid8, 0::bigint))`,
    [NAME],
  );
  return result.rows[0]?.n ?? -1;
}

/** Runs rounds until one publishes `expected` events (others may be held back a moment by xmin). */
async function roundOf(expected: number, given: Partial<RoundContext>): Promise<RoundResult> {
  let ctx = given;
  for (let i = 0; i < 400; i++) {
    const round = await runRound({
      client,
      name: NAME,
      target: "the test",
      batchSize: 5,
      publish: async (events) => {
        published.push(...events);
        return { published: events };
      },
      ...ctx,
    });
    if (round.published.length === expected || round.carried !== undefined) return round;
    if (round.published.length > 0) throw new Error(`published ${round.published.length}, not ${expected}`);
    // A carried move was made by this round: the next starts where it left the checkpoint.
    const { carried: _made, ...rest } = ctx;
    ctx = { ...rest, checkpoint: round.checkpoint };
    await Bun.sleep(25);
  }
  throw new Error(`no round published ${expected} events`);
}

describe("relay round", () => {
  test("a round that goes on leaves its checkpoint move to the next, which makes it with its batch read", async () => {
    await append(3);
    const first = await roundOf(3, { goOn: () => true });
    // Published, but the move is carried: the checkpoint is where it was.
    expect(first.carried).toBeDefined();
    expect(first.carried?.from).toEqual(ORIGIN);
    expect(first.carried?.to).toEqual(pointOfPublishedEvent(published.at(-1) as PublishedEvent));
    expect(await checkpoint()).toEqual(ORIGIN);
    expect(await unpublished()).toBe(3);

    await append(2);
    const second = await roundOf(2, { carried: first.carried!, goOn: () => false });
    // The first round's move was made in the second round's statement, which read the batch after it.
    expect(second.carried).toBeUndefined();
    expect(published).toHaveLength(5);
    expect(new Set(published.map((e) => e.eventId)).size).toBe(5);
    // Not carried: the second round made its own move alone.
    expect(await checkpoint()).toEqual(second.checkpoint);
    expect(await unpublished()).toBe(0);

    // A full batch goes on without asking.
    await append(5);
    const full = await roundOf(5, { checkpoint: second.checkpoint, goOn: () => false });
    expect(full.full).toBe(true);
    expect(full.carried).toBeDefined();
    expect(await checkpoint()).toEqual(second.checkpoint);

    // A carried move that no longer fits (another relay moved the checkpoint meanwhile) is refused.
    const stale = { ...full.carried!, from: { transactionId: 1n, position: 1n } };
    await expect(
      runRound({
        client,
        name: NAME,
        target: "t",
        batchSize: 5,
        publish: async () => ({ published: [] }),
        carried: stale,
      }),
    ).rejects.toMatchObject({ code: "ABORTED" });
    expect(await checkpoint()).toEqual(second.checkpoint);
    expect(await unpublished()).toBe(5);

    // With nothing after it, the carried move is still made, and the round says whether events wait.
    const last = await roundOf(0, { carried: full.carried!, goOn: () => true });
    expect(last.published).toHaveLength(0);
    expect(last.heldBack).toBe(false);
    expect(await checkpoint()).toEqual(full.carried!.to);
    expect(await unpublished()).toBe(0);
  }, 30_000);

  test("an empty batch behind a running transaction says it is held back, in the round's one statement", async () => {
    const from = await checkpoint();
    const running = await db.pool.connect();
    try {
      await running.query("BEGIN");
      await running.query(
        `INSERT INTO events (aggregate_type, aggregate_id, aggregate_version, type)
         VALUES ('user', gen_random_uuid(), 1, 'user.created')`,
      );
      await append(1); // commits after the running transaction took its xid: held back behind it
      const statements: string[] = [];
      const counting = new Proxy(client, {
        get: (target, key) =>
          key === "query"
            ? (q: { name?: string }) => {
                statements.push(q.name ?? "?");
                return target.query(q as never);
              }
            : Reflect.get(target, key),
      });
      const round = await runRound({
        client: counting,
        name: NAME,
        target: "t",
        batchSize: 5,
        checkpoint: from,
        publish: async (events) => ({ published: events }),
      });
      expect(round.published).toHaveLength(0);
      expect(round.heldBack).toBe(true);
      expect(statements).toEqual(["outbox_select_batch"]);
    } finally {
      await running.query("ROLLBACK");
      running.release();
    }
  });

  test("the relay's generic plan of the combined statement reads the batch along events_relay_order_idx, without a sort", async () => {
    await append(200);
    await db.pool.query("ANALYZE events");
    const { Client } = (await import("pg")).default;
    const own = new Client({ connectionString: db.url, options: GENERIC_PLANS_OPTION });
    await own.connect();
    try {
      await own.query("BEGIN");
      await own.query(
        `PREPARE relay_advance_select(text, xid8, bigint, xid8, bigint, int) AS ${ADVANCE_AND_SELECT_SQL}`,
      );
      const plan = await own.query<{ "QUERY PLAN": string }>(
        "EXPLAIN EXECUTE relay_advance_select('x', '0', 0, '0', 0, 500)",
      );
      const text = plan.rows.map((r) => r["QUERY PLAN"]).join("\n");
      expect(text).toContain("Index Scan using events_relay_order_idx on events e");
      // The batch in index order from the checkpoint (marking the previous batch's rows by id is the
      // statement's other scan of events, as in the move alone).
      expect(text).toMatch(/Limit[^\n]*\n\s*->\s+Index Scan using events_relay_order_idx on events e/);
      expect(text).not.toMatch(/Sort Key: e\.|Bitmap/);
      // The held-back check too: a scan of the table would cost every round more as it grows.
      expect(text).toContain("using events_relay_order_idx on events h");
      expect(text).not.toMatch(/Seq Scan on events h/);
    } finally {
      await own.query("ROLLBACK").catch(() => {});
      await own.end();
    }
  });
});
