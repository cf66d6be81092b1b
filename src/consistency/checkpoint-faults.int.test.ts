/**
 * The consistency service when its checkpoint write fails (as when Postgres restarts): the backend running
 * the checkpoint UPDATE is terminated. The service must neither reject unhandled (the process would exit) nor
 * lose its place: it retries, and the checkpoint reaches the last event once writes succeed again.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import type { PublishedEvent } from "../outbox";
import { createPublishedEvent } from "../outbox";
import { createTestDatabase, type TestDatabase } from "../testing";
import { applyRefreshTask } from "./apply-refresh";
import { readCheckpoint } from "./checkpoint";
import { type ConsistencyService, startConsistencyService } from "./consistency-service";
import type { FeedHandler } from "./event-feed";

let db: TestDatabase;
let service: ConsistencyService | undefined;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeAll(async () => {
  db = await createTestDatabase({ poolMax: 6 });
  process.on("unhandledRejection", onUnhandled);
});
afterEach(async () => {
  await service?.stop();
  service = undefined;
});
afterAll(async () => {
  process.off("unhandledRejection", onUnhandled);
  await db?.drop();
});

function event(position: number): PublishedEvent {
  const userId = randomUUID();
  return createPublishedEvent({
    eventId: randomUUID(),
    type: "user.created",
    aggregateType: "user",
    aggregateId: userId,
    aggregateVersion: 1,
    position: String(position),
    transactionId: String(position),
    committedAt: new Date().toISOString(),
    data: { userId },
    metadata: {},
  });
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await Bun.sleep(25);
  }
}

test("a checkpoint write whose backend is terminated is retried, and nothing rejects unhandled", async () => {
  let deliver: FeedHandler = () => {};
  service = await startConsistencyService({
    db: db.pool,
    runRefresh: (task) => applyRefreshTask(db.pool, task),
    startFeed: async (_afterSeq, onEvent) => {
      deliver = onEvent;
      return { stop: async () => {} };
    },
    publish: () => {},
  });
  // Every checkpoint UPDATE now takes a second: long enough to find its backend and terminate it.
  await db.pool.query(`
    CREATE FUNCTION slow_checkpoint() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN PERFORM pg_sleep(1); RETURN NEW; END $$;
    CREATE TRIGGER slow_checkpoint BEFORE UPDATE ON consistency_checkpoint
      FOR EACH ROW EXECUTE FUNCTION slow_checkpoint();`);
  deliver(event(1), 1, 0);
  let terminated = 0;
  await until(async () => {
    const res = await db.pool.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND query LIKE 'UPDATE consistency_checkpoint%' AND state = 'active'`,
    );
    terminated += res.rows[0]?.n ?? 0;
    return terminated > 0;
  }, 10_000);
  await db.pool.query("DROP TRIGGER slow_checkpoint ON consistency_checkpoint");
  deliver(event(2), 2, 0);
  await until(async () => (await readCheckpoint(db.pool)).seq === 2, 10_000);
  await Bun.sleep(100); // a rejection left unhandled is reported on a later turn
  expect(unhandled).toEqual([]);
}, 30_000);
