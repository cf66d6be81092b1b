/**
 * The command threads' graceful stop on a real Postgres: every command handed to the pool before stop() is
 * applied and answered with its real outcome (after its commit); anything handed in after is UNAVAILABLE and
 * not applied, so the transport leaves it unacked.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildEnvelope } from "../commands/build-envelope";
import type { CommandOutcome } from "../commands/envelope";
import { uuidFrom } from "../commands/payload";
import { createTestDatabase, type TestDatabase } from "../testing";
import { createCommandThreadPool } from "./thread-pool";

let db: TestDatabase;
const actor = { sub: "ops", role: "admin" } as const;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(() => db?.drop());

function createUser(i: number) {
  const userId = uuidFrom(`thread-pool-stop:${i}`);
  return buildEnvelope(
    { type: "CreateUser", userId, email: `tp${i}@example.com`, displayName: `TP ${i}` },
    { commandId: `tp-${i}`, actor },
  ).envelope;
}

describe("command thread pool stop", () => {
  test("waits for the commands in flight, answers each after its commit, refuses new ones", async () => {
    const pool = await createCommandThreadPool({
      threads: 2,
      entry: new URL("../../workers/command-thread.ts", import.meta.url),
      data: { databaseUrl: db.url, poolSize: 2, maxBatch: 8, logLevel: "warn" },
    });
    const inFlight: Promise<CommandOutcome>[] = Array.from({ length: 200 }, (_, i) =>
      pool.handle(createUser(i)),
    );
    const stopped = pool.stop();
    const late = await pool.handle(createUser(1000));
    await stopped;

    const outcomes = await Promise.all(inFlight);
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    const stored = await db.pool.query(
      "SELECT count(*)::int AS n FROM command_results WHERE command_id LIKE 'tp-%'",
    );
    expect(stored.rows[0].n).toBe(200);

    expect(late.ok).toBe(false);
    expect(late.ok ? "" : late.error.code).toBe("UNAVAILABLE");
    const lateStored = await db.pool.query("SELECT 1 FROM command_results WHERE command_id = 'tp-1000'");
    expect(lateStored.rowCount).toBe(0);
    // stop() is idempotent.
    await pool.stop();
  });
});
