/**
 * The consistency leader builds a view's new version by itself: a migration registers one (here
 * user_profile_view's display_name changes expression), and the running service fills it, swaps it in, drops the
 * old one, and announces the cached answers of the rows the change altered.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type CacheInvalidation, listViewBuilds } from "../read-models";
import { resolveIds, symbolicSetup } from "../read-models/commands.testkit";
import { createDriver } from "../read-models/driver.testkit";
import { userProfileNextVersion } from "../read-models/view-change.testkit";
import { createTestDatabase, type TestDatabase } from "../testing";
import { applyRefreshTask } from "./apply-refresh";
import { startConsistencyService } from "./consistency-service";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
}, 30_000);

afterAll(() => db?.drop());

describe("the consistency leader builds a view's new version", () => {
  test("registered by a migration, it is built, swapped in, and the changed rows' answers invalidated", async () => {
    const run = "lb1";
    const driver = createDriver(db.pool, { prefix: run });
    for (const command of symbolicSetup)
      expect((await driver.sendAndRefresh(resolveIds(command, run))).ok).toBe(true);
    const invalidations: CacheInvalidation[] = [];
    const service = await startConsistencyService({
      db: db.pool,
      runRefresh: (task) => applyRefreshTask(db.pool, task),
      startFeed: async () => ({ stop: async () => {} }),
      publish: (update) => invalidations.push(...update.invalidations),
      viewBuildCheckMs: 50,
    });
    try {
      await db.pool.query(userProfileNextVersion);
      const deadline = Date.now() + 15_000;
      while ((await listViewBuilds(db.pool)).length > 0 && Date.now() < deadline) await Bun.sleep(50);
      expect(await listViewBuilds(db.pool)).toEqual([]);
      const names = await db.pool.query<{ display_name: string }>(
        "SELECT display_name FROM user_profile_view ORDER BY display_name",
      );
      expect(names.rows.map((r) => r.display_name)).toEqual(["ONE", "ZERO"]);
      const user0 = (
        resolveIds({ type: "CreateUser", userId: "user:0" } as never, run) as unknown as { userId: string }
      ).userId;
      expect(invalidations).toContainEqual({ queryType: "GetUserProfile", tag: `user:${user0}` });
      const leftovers = await db.pool.query(
        "SELECT relname FROM pg_class WHERE relname LIKE 'user_profile_view\\_\\_%'",
      );
      expect(leftovers.rows).toEqual([]);
    } finally {
      await service.stop();
    }
  }, 30_000);
});
