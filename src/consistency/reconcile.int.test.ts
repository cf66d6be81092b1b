/**
 * Scheduled reconciliation on a real Postgres: view rows corrupted behind the system's back (a column changed,
 * a row deleted, a bogus row inserted) are found, repaired through the keyed refresh and counted as drift, with
 * the cached answers they fed invalidated; a row that differs only because its event is not applied yet (the
 * usual lag) is neither counted nor touched; and a pass waits while the event rate is above the threshold.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { PublishedEvent } from "../outbox";
import { advanceViewStates, type CacheInvalidation, type ViewName, viewNames } from "../read-models";
import { resolveIds, symbolicSetup } from "../read-models/commands.testkit";
import { createDriver } from "../read-models/driver.testkit";
import { createTestDatabase, type TestDatabase } from "../testing";
import { applyRefreshTask } from "./apply-refresh";
import { writeCheckpoint } from "./checkpoint";
import { type ConsistencyService, startConsistencyService } from "./consistency-service";
import type { FeedHandler } from "./event-feed";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
}, 30_000);

afterAll(() => db?.drop());

/** Every key of every view whose row differs from its source. */
async function allDifferences(): Promise<string[]> {
  const out: string[] = [];
  for (const view of viewNames) {
    const keys = await db.pool.query<{ keys: string[] }>(
      "SELECT read_view_next_keys($1, '00000000-0000-0000-0000-000000000000', 100000) AS keys",
      [view],
    );
    const diff = await db.pool.query<{ key: string }>("SELECT key FROM read_view_differences($1, $2)", [
      view,
      keys.rows[0]?.keys ?? [],
    ]);
    out.push(...diff.rows.map((r) => `${view}:${r.key}`));
  }
  return out;
}

/** The write model's data, its views refreshed and marked as having applied every event so far. */
async function seed(run: string): Promise<{ uuid: (symbol: string) => string }> {
  const driver = createDriver(db.pool, { prefix: run });
  for (const command of symbolicSetup) {
    const outcome = await driver.sendAndRefresh(resolveIds(command, run));
    expect(outcome.ok).toBe(true);
  }
  const last = await db.pool.query<{ tx: string; pos: string }>(
    "SELECT transaction_id::text AS tx, position::text AS pos FROM events ORDER BY transaction_id DESC, position DESC LIMIT 1",
  );
  const point = {
    transactionId: BigInt(last.rows[0]?.tx ?? "0"),
    position: BigInt(last.rows[0]?.pos ?? "0"),
  };
  await advanceViewStates(db.pool, viewNames, point);
  await writeCheckpoint(db.pool, { seq: 1_000_000, point }, "default", true);
  return {
    uuid: (symbol) =>
      (
        resolveIds({ type: "ActivateFaceModel", modelId: symbol } as never, run) as unknown as {
          modelId: string;
        }
      ).modelId,
  };
}

interface Started {
  readonly service: ConsistencyService;
  readonly feed: FeedHandler;
  readonly drift: Map<ViewName, number>;
  readonly invalidations: CacheInvalidation[];
  deferrals: number;
}

async function start(maxEventsPerSecond = 1_000): Promise<Started> {
  let feed: FeedHandler = () => {};
  const started = {
    drift: new Map<ViewName, number>(),
    invalidations: [] as CacheInvalidation[],
    deferrals: 0,
  };
  const service = await startConsistencyService({
    db: db.pool,
    runRefresh: (task) => applyRefreshTask(db.pool, task),
    startFeed: async (_after, onEvent) => {
      feed = onEvent;
      return { stop: async () => {} };
    },
    publish: (update) => started.invalidations.push(...update.invalidations),
    reconcile: {
      intervalMs: 0,
      batchKeys: 2,
      maxEventsPerSecond,
      batchPauseMs: 0,
      deferCheckMs: 100,
      onDrift: (view, rows) => started.drift.set(view, (started.drift.get(view) ?? 0) + rows),
      onDeferred: () => {
        started.deferrals++;
      },
    },
  });
  return Object.assign(started, { service, feed });
}

describe("scheduled reconciliation", () => {
  test("rows corrupted behind the system's back are repaired and counted; lagging rows are left to their event", async () => {
    const { uuid } = await seed("rc1");
    const s = await start();
    try {
      expect(await allDifferences()).toEqual([]);
      const [face, doc, user0, user1, conv] = ["face:0", "doc:0", "user:0", "user:1", "conv:1"].map(uuid) as [
        string,
        string,
        string,
        string,
        string,
      ];
      const bogus = crypto.randomUUID();
      await db.pool.query("UPDATE face_model_summary_view SET name = 'tampered' WHERE face_model_id = $1", [
        face,
      ]);
      await db.pool.query("DELETE FROM document_summary_view WHERE document_id = $1", [doc]);
      await db.pool.query(
        `INSERT INTO user_profile_view (user_id, email, display_name, created_at, updated_at, version)
         VALUES ($1, 'bogus@example.com', 'Bogus', now(), now(), 1)`,
        [bogus],
      );
      await db.pool.query("UPDATE user_statistics_view SET turns_total = 999 WHERE user_id = $1", [user0]);
      // The usual lag: a write whose event the consistency role has not applied yet.
      const driver = createDriver(db.pool, { prefix: "rc1-lag" });
      const ended = await driver.send({ type: "EndConversation", conversationId: conv } as never);
      expect(ended.ok).toBe(true);
      const lagging = `conversation_session_summary_view:${conv}`;
      expect((await allDifferences()).length).toBeGreaterThanOrEqual(5);

      const pass = await s.service.reconcile();
      expect(pass.drifted).toBe(4);
      expect(pass.lagging).toBeGreaterThanOrEqual(1);
      expect(Object.fromEntries(s.drift)).toEqual({
        user_profile_view: 1,
        user_statistics_view: 1,
        document_summary_view: 1,
        face_model_summary_view: 1,
      });
      // Only the lagging rows still differ (the conversation's, and its user's statistics).
      const left = await allDifferences();
      expect(left).toContain(lagging);
      expect(left.every((d) => d === lagging || d === `user_statistics_view:${user1}`)).toBe(true);
      const face1 = await db.pool.query("SELECT name FROM face_model_summary_view WHERE face_model_id = $1", [
        face,
      ]);
      expect(face1.rows[0]?.name).not.toBe("tampered");
      expect(
        (await db.pool.query("SELECT 1 FROM user_profile_view WHERE user_id = $1", [bogus])).rowCount,
      ).toBe(0);
      const tags = s.invalidations.map((i) => `${i.queryType}|${i.tag}`);
      expect(tags).toContain(`ListFaceModels|user:${uuid("user:1")}`);
      expect(tags).toContain(`ListDocuments|user:${user0}`);
      expect(tags).toContain(`GetUserProfile|user:${bogus}`);
      // A second pass finds nothing new.
      expect((await s.service.reconcile()).drifted).toBe(0);
    } finally {
      await s.service.stop();
    }
  }, 30_000);

  test("a pass waits while the event rate is above the threshold, and runs once it drops", async () => {
    const { uuid } = await seed("rc2");
    const s = await start(5);
    const face = uuid("face:0");
    await db.pool.query("UPDATE face_model_summary_view SET name = 'tampered' WHERE face_model_id = $1", [
      face,
    ]);
    let seq = 0;
    const traffic = setInterval(() => {
      for (let i = 0; i < 5; i++) s.feed(noise(++seq), seq, 0);
    }, 50); // ~100 events/s
    try {
      await Bun.sleep(300);
      const pass = s.service.reconcile();
      await Bun.sleep(1_500);
      expect(s.deferrals).toBeGreaterThanOrEqual(1);
      const during = await db.pool.query(
        "SELECT name FROM face_model_summary_view WHERE face_model_id = $1",
        [face],
      );
      expect(during.rows[0]?.name).toBe("tampered");
      clearInterval(traffic);
      const result = await pass;
      expect(result.drifted).toBe(1);
      const after = await db.pool.query("SELECT name FROM face_model_summary_view WHERE face_model_id = $1", [
        face,
      ]);
      expect(after.rows[0]?.name).not.toBe("tampered");
    } finally {
      clearInterval(traffic);
      await s.service.stop();
    }
  }, 30_000);
});

/** An event of no real user: the coordinator refreshes rows that do not exist (nothing changes). */
function noise(n: number): PublishedEvent {
  const userId = crypto.randomUUID();
  return {
    eventId: crypto.randomUUID(),
    type: "user.profile_updated",
    aggregateType: "user",
    aggregateId: userId,
    aggregateVersion: 2,
    position: String(n),
    transactionId: "1",
    token: "t",
    committedAt: new Date().toISOString(),
    data: { userId },
    metadata: {},
  };
}
