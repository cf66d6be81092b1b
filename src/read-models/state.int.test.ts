import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ORIGIN } from "../contracts";
import { withTransaction } from "../db";
import { createTestDatabase, type TestDatabase } from "../testing";
import { refreshFull, refreshKeys } from "./refresh";
import { advanceViewState, advanceViewStates, hasApplied, readViewState, readViewStates } from "./state";
import { viewNames } from "./views";

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const point = (transactionId: bigint, position: bigint) => ({ transactionId, position });
const someone = "00000000-0000-4000-8000-000000000001";

describe("read_view_state (real Postgres)", () => {
  test("every view starts at the origin, never refreshed", async () => {
    const states = await readViewStates(db.pool);
    expect(states.map((s) => s.view)).toEqual([...viewNames]);
    for (const s of states) {
      expect(s).toEqual({ view: s.view, applied: ORIGIN, refreshedAt: null, lastFullRefreshAt: null });
    }
  });

  test("the applied point moves only forward, ordered by (transaction id, position)", async () => {
    const view = "document_summary_view";
    expect(await advanceViewState(db.pool, view, point(10n, 50n))).toBe(true);
    expect(await advanceViewState(db.pool, view, point(10n, 50n))).toBe(false);
    expect(await advanceViewState(db.pool, view, point(9n, 99n))).toBe(false);
    expect(await advanceViewState(db.pool, view, point(10n, 49n))).toBe(false);
    expect(await advanceViewState(db.pool, view, point(11n, 3n))).toBe(true);
    const big = point(2n ** 62n, 2n ** 60n);
    expect(await advanceViewState(db.pool, view, big)).toBe(true);
    const state = await readViewState(db.pool, view);
    expect(state.applied).toEqual(big);
    expect(hasApplied(state, point(2n ** 62n, 5n))).toBe(true);
    expect(hasApplied(state, point(2n ** 62n + 1n, 0n))).toBe(false);
    expect((await readViewState(db.pool, "user_profile_view")).applied).toEqual(ORIGIN);
  });

  test("several views advance together; those already past the point stay", async () => {
    const moved = await advanceViewStates(
      db.pool,
      ["face_model_summary_view", "document_summary_view", "user_profile_view"],
      point(20n, 7n),
    );
    expect(moved).toEqual(["user_profile_view", "face_model_summary_view"]);
  });

  test("a refresh and its advance commit or roll back together", async () => {
    await expect(
      withTransaction(db.pool, async (client) => {
        await refreshKeys(client, "user_statistics_view", "user_id", [someone]);
        await advanceViewState(client, "user_statistics_view", point(30n, 1n));
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    let state = await readViewState(db.pool, "user_statistics_view");
    expect(state.applied).toEqual(ORIGIN);
    expect(state.refreshedAt).toBeNull();

    await withTransaction(db.pool, async (client) => {
      await refreshKeys(client, "user_statistics_view", "user_id", [someone]);
      await advanceViewState(client, "user_statistics_view", point(30n, 1n));
    });
    state = await readViewState(db.pool, "user_statistics_view");
    expect(state.applied).toEqual(point(30n, 1n));
    expect(state.refreshedAt).toBeInstanceOf(Date);
    expect(state.lastFullRefreshAt).toBeNull();

    await refreshFull(db.pool, "user_statistics_view");
    state = await readViewState(db.pool, "user_statistics_view");
    expect(state.lastFullRefreshAt).toEqual(state.refreshedAt);
  });

  test("refreshes of one view wait for each other; other views do not", async () => {
    const holder = await db.pool.connect();
    try {
      await holder.query("BEGIN");
      await refreshKeys(holder, "conversation_session_summary_view", "user_id", [someone]);
      let waited = false;
      const second = refreshFull(db.pool, "conversation_session_summary_view").then(() => {
        waited = true;
      });
      await refreshKeys(db.pool, "document_summary_view", "user_id", [someone]);
      await Bun.sleep(200);
      expect(waited).toBe(false);
      await holder.query("COMMIT");
      await second;
      expect(waited).toBe(true);
    } finally {
      holder.release();
    }
  });
});
