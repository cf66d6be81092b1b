/**
 * Changing a view without downtime, on a real Postgres: face_model_summary_view gets a new column (a new
 * `_source` and table registered as its next version, as a migration would) while face models are registered and
 * trained and the view is read all the time. The new version is filled in key batches beside the old one while
 * keyed refreshes apply to both, swapped in, and the old one dropped: no read fails, every read after a write's
 * refresh sees that write (no stale read), and afterwards the view has the new column and equals its new source.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestDatabase, type TestDatabase } from "../testing";
import { resolveIds, symbolicSetup } from "./commands.testkit";
import { createDriver } from "./driver.testkit";
import { listViewBuilds, runViewBuild } from "./view-builds";
import { faceModelSummaryNextVersion as NEXT_VERSION } from "./view-change.testkit";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
}, 30_000);

afterAll(() => db?.drop());

async function differences(): Promise<string[]> {
  const keys = await db.pool.query<{ keys: string[] }>(
    "SELECT read_view_next_keys('face_model_summary_view', '00000000-0000-0000-0000-000000000000', 100000) AS keys",
  );
  const diff = await db.pool.query<{ key: string }>(
    "SELECT key FROM read_view_differences('face_model_summary_view', $1)",
    [keys.rows[0]?.keys ?? []],
  );
  return diff.rows.map((r) => r.key);
}

describe("changing a view without downtime", () => {
  test("a new column is built beside the old table under load and swapped in with no failed or stale read", async () => {
    const run = "vb1";
    const driver = createDriver(db.pool, { prefix: run });
    for (const command of symbolicSetup)
      expect((await driver.sendAndRefresh(resolveIds(command, run))).ok).toBe(true);
    const userId = (
      resolveIds({ type: "CreateUser", userId: "user:1" } as never, run) as unknown as { userId: string }
    ).userId;
    // Rows to build: 60 models.
    for (let i = 0; i < 60; i++) {
      const outcome = await driver.sendAndRefresh({
        type: "RegisterFaceModel",
        modelId: crypto.randomUUID(),
        userId,
        name: `m${i}`,
        sampleSeconds: 5,
      } as never);
      expect(outcome.ok).toBe(true);
    }
    await db.pool.query(NEXT_VERSION);
    expect((await listViewBuilds(db.pool)).map((b) => b.view)).toEqual(["face_model_summary_view"]);

    let done = false;
    let reads = 0;
    const failures: string[] = [];
    const stale: string[] = [];
    // Readers: the query side's read of the view, all the time.
    const reader = (async () => {
      while (!done) {
        try {
          await db.pool.query(
            "SELECT * FROM face_model_summary_view WHERE user_id = $1 ORDER BY created_at",
            [userId],
          );
          reads++;
        } catch (error) {
          failures.push(String(error));
        }
        await Bun.sleep(1);
      }
    })();
    // Writers: each write refreshed (the keyed refresh path), then read back: it must be there.
    const writer = (async () => {
      let i = 0;
      while (!done) {
        const modelId = crypto.randomUUID();
        const registered = await driver.sendAndRefresh({
          type: "RegisterFaceModel",
          modelId,
          userId,
          name: `w${i++}`,
          sampleSeconds: 5,
        } as never);
        const trained = await driver.sendAndRefresh({
          type: "CompleteFaceModelTraining",
          modelId,
          succeeded: true,
          qualityScore: 0.5,
          failureReason: "",
        } as never);
        if (!registered.ok || !trained.ok) failures.push(`write ${i} failed`);
        try {
          const row = await db.pool.query<{ status: string }>(
            "SELECT status FROM face_model_summary_view WHERE face_model_id = $1",
            [modelId],
          );
          if (row.rows[0]?.status !== "TRAINED")
            stale.push(`${modelId}: ${row.rows[0]?.status ?? "missing"}`);
        } catch (error) {
          failures.push(String(error));
        }
      }
      return i;
    })();

    let result: Awaited<ReturnType<typeof runViewBuild>>;
    try {
      await Bun.sleep(200);
      result = await runViewBuild(db.pool, "face_model_summary_view", { batchKeys: 4, pauseMs: 20 });
      await Bun.sleep(300);
    } finally {
      done = true;
      await reader;
    }
    const writes = await writer;

    expect(result.swapped).toBe(true);
    expect(result.keys).toBeGreaterThanOrEqual(61);
    expect(writes).toBeGreaterThan(3);
    expect(reads).toBeGreaterThan(50);
    expect(failures).toEqual([]);
    expect(stale).toEqual([]);
    // The new version is the view: its new column, equal to its new source; the old one is gone.
    const columns = await db.pool.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'face_model_summary_view'",
    );
    expect(columns.rows.map((c) => c.column_name)).toContain("average_clone_turns");
    expect(await differences()).toEqual([]);
    const leftovers = await db.pool.query(
      "SELECT relname FROM pg_class WHERE relname LIKE 'face_model_summary_view\\_\\_%'",
    );
    expect(leftovers.rows).toEqual([]);
    expect(await listViewBuilds(db.pool)).toEqual([]);
    // Keyed refreshes keep working on the swapped-in table.
    const after = crypto.randomUUID();
    expect(
      (
        await driver.sendAndRefresh({
          type: "RegisterFaceModel",
          modelId: after,
          userId,
          name: "after",
          sampleSeconds: 5,
        } as never)
      ).ok,
    ).toBe(true);
    const row = await db.pool.query<{ average_clone_turns: number }>(
      "SELECT average_clone_turns FROM face_model_summary_view WHERE face_model_id = $1",
      [after],
    );
    expect(row.rows[0]?.average_clone_turns).toBe(0);
  }, 30_000);
});
