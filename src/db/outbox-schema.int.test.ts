/** The command path's tables: idempotency records and the event outbox. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { createTestDatabase, type TestDatabase } from "../testing";
import { withTransaction } from "./pool";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

interface EventRow {
  position: string;
  event_id: string;
  transaction_id: string;
  committed_at: Date;
  published_at: Date | null;
}

async function appendEvent(
  queryable: Pick<pg.Pool, "query"> | pg.PoolClient,
  overrides: Record<string, unknown> = {},
): Promise<EventRow> {
  const row = {
    aggregate_type: "user",
    aggregate_id: randomUUID(),
    aggregate_version: 1,
    type: "user.created",
    payload: {},
    metadata: { command_id: "c" },
    ...overrides,
  };
  const columns = Object.keys(row);
  const result = await queryable.query<EventRow>(
    `INSERT INTO events (${columns.join(", ")}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(", ")})
     RETURNING position, event_id, transaction_id, committed_at, published_at`,
    Object.values(row),
  );
  return result.rows[0]!;
}

describe("events", () => {
  test("positions come from the sequence and grow; the writer's transaction id is recorded", async () => {
    const a = await appendEvent(db.pool);
    const b = await appendEvent(db.pool);
    expect(BigInt(b.position)).toBeGreaterThan(BigInt(a.position));
    expect(BigInt(b.transaction_id)).toBeGreaterThan(BigInt(a.transaction_id));
    expect(a.published_at).toBeNull();
    expect(a.committed_at).toBeInstanceOf(Date);
  });

  test("one event per (aggregate_id, aggregate_version); positions cannot be chosen", async () => {
    const aggregateId = randomUUID();
    await appendEvent(db.pool, { aggregate_id: aggregateId });
    await expect(appendEvent(db.pool, { aggregate_id: aggregateId })).rejects.toMatchObject({
      code: "23505",
    });
    await expect(appendEvent(db.pool, { position: 999_999 })).rejects.toMatchObject({ code: "428C9" });
  });

  test("type must name its aggregate; version >= 1; payload is an object", async () => {
    const check = { code: "23514" };
    await expect(appendEvent(db.pool, { type: "voice_model.registered" })).rejects.toMatchObject(check);
    await expect(
      appendEvent(db.pool, { aggregate_type: "robot", type: "robot.built" }),
    ).rejects.toMatchObject(check);
    await expect(appendEvent(db.pool, { aggregate_version: 0 })).rejects.toMatchObject(check);
    await expect(appendEvent(db.pool, { payload: JSON.stringify([1]) })).rejects.toMatchObject(check);
  });

  test("only published_at may change", async () => {
    const e = await appendEvent(db.pool);
    await db.pool.query("UPDATE events SET published_at = now() WHERE event_id = $1", [e.event_id]);
    for (const set of [
      `payload = '{"x":1}'`,
      `metadata = '{"x":1}'`,
      "aggregate_version = aggregate_version + 1",
      "committed_at = committed_at - interval '1 second'",
      "aggregate_id = gen_random_uuid()",
    ]) {
      await expect(
        db.pool.query(`UPDATE events SET ${set} WHERE event_id = $1`, [e.event_id]),
      ).rejects.toMatchObject({ code: "23000" });
    }
    // Marking again (the relay re-marks after a crash) is allowed; the event is unchanged.
    await db.pool.query("UPDATE events SET published_at = now() WHERE event_id = $1", [e.event_id]);
  });

  test("marking events published is a heap-only update (published_at is in no index)", async () => {
    const client = await db.pool.connect();
    try {
      const stats = async () =>
        (
          await client.query<{ upd: number; hot: number }>(
            `SELECT n_tup_upd::int AS upd, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables
              WHERE relname = 'events'`,
          )
        ).rows[0] as { upd: number; hot: number };
      await client.query("SELECT pg_stat_clear_snapshot()");
      const before = await stats();
      const inserted = await client.query<{ position: string }>(
        `INSERT INTO events (aggregate_type, aggregate_id, aggregate_version, type)
         SELECT 'user', gen_random_uuid(), 1, 'user.created' FROM generate_series(1, 400)
         RETURNING position`,
      );
      const positions = inserted.rows.map((r) => r.position);
      // As the relay marks them: a batch at a time, each its own transaction.
      for (let i = 0; i < positions.length; i += 20) {
        await client.query("UPDATE events SET published_at = now() WHERE position = ANY($1::bigint[])", [
          positions.slice(i, i + 20),
        ]);
      }
      await client.query("SELECT pg_stat_force_next_flush()");
      let after = before;
      for (let i = 0; i < 50 && after.upd - before.upd < 400; i++) {
        await Bun.sleep(50);
        await client.query("SELECT pg_stat_clear_snapshot()");
        after = await stats();
      }
      // (Other connections of this file flush their own counts whenever they do: at least ours are in.)
      expect(after.upd - before.upd).toBeGreaterThanOrEqual(400);
      // With published_at in an index predicate (before sql/0015) none was.
      expect(after.hot - before.hot).toBeGreaterThan(200);
    } finally {
      client.release();
    }
  });

  test("rows of a running transaction are held back by the xmin rule", async () => {
    const eligible = `SELECT position FROM events
      WHERE published_at IS NULL AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())`;
    await db.pool.query("UPDATE events SET published_at = now() WHERE published_at IS NULL");
    const writer = await db.pool.connect();
    try {
      await writer.query("BEGIN");
      await appendEvent(writer);
      const committed = await appendEvent(db.pool);
      const before = await db.pool.query<{ position: string }>(eligible);
      expect(before.rows.map((r) => r.position)).not.toContain(committed.position);
      await writer.query("COMMIT");
      // xmin is cluster-wide: a transaction running in another database (another test file) also holds rows
      // back for a moment, so poll.
      let after = await db.pool.query<{ position: string }>(eligible);
      for (let i = 0; i < 50 && after.rowCount !== 2; i++) {
        await Bun.sleep(100);
        after = await db.pool.query<{ position: string }>(eligible);
      }
      expect(after.rows.map((r) => r.position)).toContain(committed.position);
      expect(after.rowCount).toBe(2);
    } finally {
      writer.release();
    }
  });

  test("an append does not NOTIFY (the trigger that serialized commits is gone, sql/0012)", async () => {
    const listener = await db.pool.connect();
    try {
      const received: string[] = [];
      listener.on("notification", (n) => received.push(n.channel));
      await listener.query("LISTEN clone_outbox");
      await withTransaction(db.pool, async (tx) => {
        await appendEvent(tx);
        await appendEvent(tx);
      });
      await Bun.sleep(200);
      expect(received).toEqual([]);
      await listener.query("UNLISTEN clone_outbox");
    } finally {
      listener.release();
    }
  });
});

describe("command_results", () => {
  const row = (commandId: string, result: unknown) => [
    commandId,
    "CreateUser",
    "user",
    randomUUID(),
    "h",
    result,
  ];
  const sql = `INSERT INTO command_results (command_id, command_type, aggregate_type, aggregate_id, payload_hash, result)
    VALUES ($1, $2, $3, $4, $5, $6)`;

  test("one result per command id; the result is a JSON object", async () => {
    await db.pool.query(sql, row("cmd-1", { ok: true, version: 1 }));
    await expect(db.pool.query(sql, row("cmd-1", { ok: true }))).rejects.toMatchObject({ code: "23505" });
    await expect(db.pool.query(sql, row("cmd-2", JSON.stringify("x")))).rejects.toMatchObject({
      code: "23514",
    });
    await expect(db.pool.query(sql, row("", { ok: true }))).rejects.toMatchObject({ code: "23514" });
  });
});

describe("withTransaction", () => {
  test("rolls back and rethrows when the function throws", async () => {
    const aggregateId = randomUUID();
    const failure = withTransaction(db.pool, async (tx) => {
      await appendEvent(tx, { aggregate_id: aggregateId });
      throw new Error("boom");
    });
    await expect(failure).rejects.toThrow("boom");
    const left = await db.pool.query("SELECT 1 FROM events WHERE aggregate_id = $1", [aggregateId]);
    expect(left.rowCount).toBe(0);
    expect(db.pool.idleCount + db.pool.waitingCount).toBeGreaterThanOrEqual(1);
  });
});
