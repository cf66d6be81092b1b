/**
 * View refresh poison isolation on a real Postgres: an event whose view row cannot be refreshed (a key the
 * view's column refuses) is set aside as a dead letter while the other rows of the same refresh are applied,
 * and the view's point and the `complete` watermark move on; a retry asked for with the CLI's store call runs
 * again and fails again, counted.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { listDeadLetters, requestRetry } from "../dead-letters";
import type { PublishedEvent } from "../outbox";
import { createDriver } from "../read-models/driver.testkit";
import { createTestDatabase, type TestDatabase } from "../testing";
import { applyRefreshTask } from "./apply-refresh";
import { startConsistencyService } from "./consistency-service";
import type { FeedHandler } from "./event-feed";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
}, 30_000);

afterAll(() => db?.drop());

function profileUpdated(userId: string, position: number): PublishedEvent {
  return {
    eventId: crypto.randomUUID(),
    type: "user.profile_updated",
    aggregateType: "user",
    aggregateId: userId,
    aggregateVersion: 2,
    position: String(position),
    transactionId: "2000",
    token: "t",
    committedAt: new Date().toISOString(),
    data: { userId },
    metadata: {},
  };
}

describe("consistency service: view refresh dead letters", () => {
  test("a row that cannot be refreshed is dead-lettered; the others are applied and the view moves on", async () => {
    const driver = createDriver(db.pool, { prefix: "cdl" });
    const userId = crypto.randomUUID();
    const created = await driver.send({
      type: "CreateUser",
      userId,
      email: "cdl@example.com",
      displayName: "Before",
    });
    expect(created.ok).toBe(true);
    let feed: FeedHandler = () => {};
    const service = await startConsistencyService({
      db: db.pool,
      runRefresh: (task) => applyRefreshTask(db.pool, task),
      startFeed: async (_after, onEvent) => {
        feed = onEvent;
        return { stop: async () => {} };
      },
      publish: () => {},
    });
    try {
      await db.pool.query("UPDATE users SET display_name = 'After' WHERE id = $1", [userId]);
      feed(profileUpdated("not-a-uuid", 9_000), 1, 0);
      feed(profileUpdated(userId, 9_001), 2, 0);
      const deadline = Date.now() + 20_000;
      while (service.complete().seq < 2 && Date.now() < deadline) await Bun.sleep(20);
      expect(service.complete().seq).toBe(2);
      const view = await db.pool.query("SELECT display_name FROM user_profile_view WHERE user_id = $1", [
        userId,
      ]);
      expect(view.rows[0]?.display_name).toBe("After");
      const letters = await listDeadLetters(db.pool, { source: "consistency" });
      expect(letters.map((l) => [l.consumer, l.key])).toEqual([
        ["user_profile_view", "user_profile_view:user_id:not-a-uuid"],
      ]);
      expect(letters[0]?.error).toContain("uuid");
      // Asked to retry: the service runs it again; it fails again and counts another attempt.
      const before = letters[0]?.attempts as number;
      await requestRetry(db.pool, letters[0]?.id as string);
      let after = before;
      for (let i = 0; i < 100 && after === before; i++) {
        await Bun.sleep(50);
        after = (await listDeadLetters(db.pool, { source: "consistency" }))[0]?.attempts ?? before;
      }
      expect(after).toBe(before + 1);
    } finally {
      await service.stop();
    }
  }, 30_000);
});
