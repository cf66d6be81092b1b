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
     RETURNING position, event_id, transaction_id, committed_at`,
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

  test("no column of an event may change (an update that changes nothing is let through)", async () => {
    const e = await appendEvent(db.pool);
    for (const set of [
      `payload = '{"x":1}'`,
      `metadata = '{"x":1}'`,
      "type = 'user.deleted'",
      "aggregate_version = aggregate_version + 1",
      "committed_at = committed_at - interval '1 second'",
      "aggregate_id = gen_random_uuid()",
    ]) {
      await expect(
        db.pool.query(`UPDATE events SET ${set} WHERE event_id = $1`, [e.event_id]),
      ).rejects.toMatchObject({ code: "23000" });
    }
    await db.pool.query("UPDATE events SET type = type WHERE event_id = $1", [e.event_id]);
  });

  test("published means at or below the default relay's checkpoint; moving it rewrites no event row", async () => {
    const events = [await appendEvent(db.pool), await appendEvent(db.pool), await appendEvent(db.pool)];
    const published = async () =>
      (
        await db.pool.query<{ p: boolean; ctid: string; xmin: string }>(
          `SELECT event_published(transaction_id, position) AS p, ctid::text, xmin::text FROM events
            WHERE event_id = ANY($1::uuid[]) ORDER BY position`,
          [events.map((e) => e.event_id)],
        )
      ).rows;
    const before = await published();
    expect(before.map((r) => r.p)).toEqual([false, false, false]);
    const middle = events[1] as EventRow;
    await db.pool.query(
      `INSERT INTO outbox_relay_state (name, last_published_transaction_id, last_published_position)
       VALUES ('default', $1::xid8, $2)
       ON CONFLICT (name) DO UPDATE SET last_published_transaction_id = EXCLUDED.last_published_transaction_id,
                                       last_published_position = EXCLUDED.last_published_position`,
      [middle.transaction_id, middle.position],
    );
    const after = await published();
    expect(after.map((r) => r.p)).toEqual([true, true, false]);
    // The same row versions: publishing wrote nothing to events.
    expect(after.map((r) => [r.ctid, r.xmin])).toEqual(before.map((r) => [r.ctid, r.xmin]));
    await db.pool.query("DELETE FROM outbox_relay_state WHERE name = 'default'");
  });

  test("rows of a running transaction are held back by the xmin rule", async () => {
    const last = await db.pool.query<{ p: string }>(
      "SELECT coalesce(max(position), 0)::text AS p FROM events",
    );
    const eligible = `SELECT position FROM events
      WHERE position > ${last.rows[0]?.p ?? "0"} AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())`;
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
