import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { uuidFrom } from "../contracts";
import type { DomainCommand } from "../domain";
import { createTestDatabase, type TestDatabase } from "../testing";
import { createDriver, type Driver } from "./driver.testkit";
import { expectedViews } from "./model.testkit";
import { refreshAll, refreshFull, refreshKeys } from "./refresh";
import { outboxEvents, snapshotSources, snapshotViews } from "./snapshot.testkit";
import { readViews, viewNames } from "./views";

let db: TestDatabase;
let driver: Driver;

beforeAll(async () => {
  db = await createTestDatabase();
  driver = createDriver(db.pool);
});
afterAll(() => db.drop());

const id = (name: string) => uuidFrom(`read-views-test:${name}`);
const ada = id("ada");
const bob = id("bob");
const voice = id("voice");
const voice2 = id("voice2");
const face = id("face");
const doc1 = id("doc1");
const doc2 = id("doc2");
const doc3 = id("doc3");
const conv = id("conv");

async function ok(command: DomainCommand) {
  const outcome = await driver.sendAndRefresh(command);
  if (!outcome.ok) throw new Error(`${command.type}: ${outcome.error.code} ${outcome.error.message}`);
  return outcome.result;
}

async function row(view: string, column: string, key: string) {
  const res = await db.pool.query(`SELECT * FROM ${view} WHERE ${column} = $1`, [key]);
  return res.rows[0];
}

const text = (s: string) => new TextEncoder().encode(s);

describe("read views (real Postgres, real command path)", () => {
  test("the SQL registry matches views.ts, and every view starts empty with a state row", async () => {
    const res = await db.pool.query(
      "SELECT name, key_column, source, refresh_columns, serves FROM read_views ORDER BY ordinal",
    );
    expect(res.rows).toEqual(
      viewNames.map((name) => {
        const v = readViews[name];
        return {
          name,
          key_column: v.keyColumn,
          source: v.source,
          refresh_columns: [...v.refreshColumns],
          serves: v.serves,
        };
      }),
    );
    const state = await db.pool.query("SELECT view_name FROM read_view_state ORDER BY view_name");
    expect(state.rows.map((r) => r.view_name)).toEqual([...viewNames].sort());
  });

  test("a user's life through the command path shows in every view", async () => {
    await ok({ type: "CreateUser", userId: ada, email: "ada@example.com", displayName: "Ada" });
    await ok({ type: "CreateUser", userId: bob, email: "bob@example.com", displayName: "Bob" });
    await ok({ type: "UpdateUserProfile", userId: ada, displayName: "Ada L." });
    await ok({ type: "RegisterVoiceModel", modelId: voice, userId: ada, name: "warm", sampleSeconds: 30 });
    await ok({ type: "RegisterVoiceModel", modelId: voice2, userId: ada, name: "cool", sampleSeconds: 9 });
    await ok({
      type: "CompleteVoiceModelTraining",
      modelId: voice,
      succeeded: true,
      qualityScore: 0.875,
      failureReason: "",
    });
    await ok({ type: "ActivateVoiceModel", modelId: voice });
    await ok({ type: "RegisterFaceModel", modelId: face, userId: ada, name: "smile", sampleSeconds: 12 });
    await ok({
      type: "CompleteFaceModelTraining",
      modelId: face,
      succeeded: false,
      qualityScore: 0,
      failureReason: "too dark",
    });
    const content = text("hello world from ada");
    await ok({
      type: "UploadDocument",
      documentId: doc1,
      userId: ada,
      title: "Notes",
      contentType: "text/plain",
      content,
    });
    await ok({
      type: "RecordDocumentProcessing",
      documentId: doc1,
      succeeded: true,
      failureReason: "",
      chunks: ["hello world", "from ada"],
      wordCount: 4,
    });
    await ok({
      type: "UploadDocument",
      documentId: doc2,
      userId: ada,
      title: "Bad",
      contentType: "application/json",
      content: text("{"),
    });
    await ok({
      type: "RecordDocumentProcessing",
      documentId: doc2,
      succeeded: false,
      failureReason: "invalid JSON",
      chunks: [],
      wordCount: 0,
    });
    await ok({
      type: "UploadDocument",
      documentId: doc3,
      userId: ada,
      title: "Gone",
      contentType: "text/markdown",
      content: text("# gone"),
    });
    await ok({ type: "DeleteDocument", documentId: doc3 });
    await ok({
      type: "StartConversation",
      conversationId: conv,
      userId: ada,
      voiceModelId: null,
      faceModelId: null,
    });
    const turns: [speaker: "USER" | "CLONE", audioMs: number, latencyMs: number][] = [
      ["USER", 1000, 0],
      ["CLONE", 1500, 300],
      ["USER", 800, 0],
      ["CLONE", 2000, 500],
    ];
    for (const [speaker, audioMs, latencyMs] of turns) {
      await ok({
        type: "RecordConversationTurn",
        conversationId: conv,
        speaker,
        text: "hi",
        audioMs,
        latencyMs,
      });
    }
    await ok({ type: "EndConversation", conversationId: conv });

    const profile = await row("user_profile_view", "user_id", ada);
    expect(profile).toMatchObject({
      email: "ada@example.com",
      display_name: "Ada L.",
      active_voice_model_id: voice,
      active_voice_model_name: "warm",
      active_face_model_id: null,
      active_face_model_name: null,
      version: "2",
    });
    expect(profile.updated_at.getTime()).toBeGreaterThan(profile.created_at.getTime());

    const stats = await row("user_statistics_view", "user_id", ada);
    expect(stats).toMatchObject({
      conversations_total: 1,
      conversations_active: 0,
      turns_total: 4,
      documents_total: 2,
      documents_processed: 1,
      voice_models_total: 2,
      face_models_total: 1,
      total_audio_ms: "5300",
      avg_clone_latency_ms: 400,
    });
    const ended = await db.pool.query("SELECT ended_at FROM conversations WHERE id = $1", [conv]);
    expect(stats.last_active_at).toEqual(ended.rows[0].ended_at);
    expect(await row("user_statistics_view", "user_id", bob)).toMatchObject({
      conversations_total: 0,
      turns_total: 0,
      total_audio_ms: "0",
      avg_clone_latency_ms: 0,
      last_active_at: null,
    });

    expect(await row("document_summary_view", "document_id", doc1)).toMatchObject({
      user_id: ada,
      title: "Notes",
      content_type: "text/plain",
      status: "PROCESSED",
      size_bytes: content.byteLength,
      word_count: 4,
      chunk_count: 2,
      failure_reason: null,
    });
    expect(await row("document_summary_view", "document_id", doc2)).toMatchObject({
      status: "FAILED",
      word_count: null,
      chunk_count: null,
      failure_reason: "invalid JSON",
    });
    expect(await row("document_summary_view", "document_id", doc3)).toBeUndefined();

    const summary = await row("conversation_session_summary_view", "conversation_id", conv);
    expect(summary).toMatchObject({
      user_id: ada,
      status: "ENDED",
      voice_model_id: voice,
      face_model_id: null,
      turn_count: 4,
      user_turns: 2,
      clone_turns: 2,
      total_audio_ms: "5300",
      avg_clone_latency_ms: 400,
    });
    const lastTurn = await db.pool.query(
      "SELECT recorded_at FROM turns WHERE conversation_id = $1 AND sequence = 4",
      [conv],
    );
    expect(summary.last_turn_at).toEqual(lastTurn.rows[0].recorded_at);

    expect(await row("voice_model_summary_view", "voice_model_id", voice)).toMatchObject({
      user_id: ada,
      name: "warm",
      status: "TRAINED",
      quality_score: 0.875,
      is_active: true,
      conversations_count: 1,
      clone_turns_count: 2,
      total_audio_ms: "3500",
      last_used_at: lastTurn.rows[0].recorded_at,
    });
    expect(await row("voice_model_summary_view", "voice_model_id", voice2)).toMatchObject({
      status: "PENDING",
      quality_score: null,
      is_active: false,
      conversations_count: 0,
      clone_turns_count: 0,
      total_audio_ms: "0",
      last_used_at: null,
    });
    expect(await row("face_model_summary_view", "face_model_id", face)).toMatchObject({
      status: "FAILED",
      quality_score: null,
      is_active: false,
      conversations_count: 0,
    });

    expect(await snapshotViews(db.pool)).toEqual(expectedViews(await outboxEvents(db.pool)));
  });

  test("keyed maintenance equals a full refresh, which then changes nothing; a full refresh from empty too", async () => {
    const keyed = await snapshotViews(db.pool);
    expect(keyed).toEqual(await snapshotSources(db.pool));
    expect(await refreshAll(db.pool)).toBe(0);
    expect(await snapshotViews(db.pool)).toEqual(keyed);

    await db.pool.query(`TRUNCATE ${viewNames.join(", ")}`);
    const rows = keyed.user_profile_view.length + keyed.user_statistics_view.length;
    expect(await refreshFull(db.pool, "user_profile_view")).toEqual({ upserted: 2, deleted: 0 });
    expect(await refreshAll(db.pool)).toBeGreaterThan(rows);
    expect(await snapshotViews(db.pool)).toEqual(keyed);
  });

  test("an upsert writes only rows that changed, and a changed row is rewritten", async () => {
    expect(await refreshKeys(db.pool, "user_profile_view", "user_id", [ada, bob])).toEqual({
      upserted: 0,
      deleted: 0,
    });
    await db.pool.query("UPDATE user_profile_view SET display_name = 'stale' WHERE user_id = $1", [bob]);
    expect(await refreshKeys(db.pool, "user_profile_view", "user_id", [ada, bob])).toEqual({
      upserted: 1,
      deleted: 0,
    });
    expect((await row("user_profile_view", "user_id", bob)).display_name).toBe("Bob");
    expect(await refreshKeys(db.pool, "user_profile_view", "user_id", [])).toEqual({
      upserted: 0,
      deleted: 0,
    });
  });

  test("deleting a user removes its rows from all six views and leaves the others", async () => {
    const before = await snapshotViews(db.pool);
    await ok({ type: "DeleteUser", userId: ada });
    for (const view of viewNames) {
      const left = await db.pool.query(`SELECT count(*)::int AS n FROM ${view} WHERE user_id = $1`, [ada]);
      expect({ view, n: left.rows[0].n }).toEqual({ view, n: 0 });
    }
    const after = await snapshotViews(db.pool);
    expect(after.user_profile_view).toEqual(before.user_profile_view.filter((r) => r.user_id !== ada));
    expect(after.user_statistics_view.map((r) => r.user_id)).toEqual([bob]);
    expect(after).toEqual(expectedViews(await outboxEvents(db.pool)));
    expect(await refreshAll(db.pool)).toBe(0);
  });

  test("bad view names and key columns are refused by the SQL functions", async () => {
    const refused = (sql: string, params: unknown[]) =>
      db.pool.query(sql, params).then(
        () => "accepted",
        (e: { code?: string }) => e.code,
      );
    expect(
      await refused("SELECT * FROM refresh_read_view_keys($1, $2, $3::uuid[])", ["users", "id", [ada]]),
    ).toBe("22023");
    expect(
      await refused("SELECT * FROM refresh_read_view_keys($1, $2, $3::uuid[])", [
        "document_summary_view",
        "title",
        [ada],
      ]),
    ).toBe("22023");
    expect(await refused("SELECT * FROM refresh_read_view_full($1)", ["pg_class"])).toBe("22023");
    expect(() => refreshKeys(db.pool, "document_summary_view", "title", [ada])).toThrow(
      /cannot be refreshed/,
    );
  });
});
