/** The write model's constraints bite: each test writes one bad row and expects Postgres' error code. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "../testing";

const UNIQUE = { code: "23505" };
const CHECK = { code: "23514" };
const FOREIGN_KEY = { code: "23503" };
const NOT_NULL = { code: "23502" };

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

type Row = Record<string, unknown>;

async function insert(table: string, row: Row): Promise<Row> {
  const columns = Object.keys(row);
  const params = columns.map((_, i) => `$${i + 1}`).join(", ");
  const result = await db.pool.query(
    `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${params}) RETURNING *`,
    Object.values(row),
  );
  return result.rows[0] as Row;
}

function user(overrides: Row = {}): Promise<Row> {
  const id = randomUUID();
  return insert("users", { id, email: `${id}@example.com`, display_name: "Ada", version: 1, ...overrides });
}

function model(table: "voice_models" | "face_models", userId: unknown, overrides: Row = {}): Promise<Row> {
  return insert(table, {
    id: randomUUID(),
    user_id: userId,
    name: "m",
    sample_seconds: 12.5,
    version: 1,
    ...overrides,
  });
}

function trained(table: "voice_models" | "face_models", userId: unknown): Promise<Row> {
  return model(table, userId, { status: "TRAINED", quality_score: 0.9, trained_at: new Date() });
}

function document(userId: unknown, overrides: Row = {}): Promise<Row> {
  const content = Buffer.from("hello world");
  return insert("documents", {
    id: randomUUID(),
    user_id: userId,
    title: "Notes",
    content_type: "text/plain",
    content,
    size_bytes: content.length,
    version: 1,
    ...overrides,
  });
}

function conversation(userId: unknown, overrides: Row = {}): Promise<Row> {
  return insert("conversations", { id: randomUUID(), user_id: userId, version: 1, ...overrides });
}

function turn(conversationId: unknown, overrides: Row = {}): Promise<Row> {
  return insert("turns", {
    conversation_id: conversationId,
    sequence: 1,
    speaker: "USER",
    text: "hi",
    audio_ms: 100,
    latency_ms: 5,
    ...overrides,
  });
}

describe("users", () => {
  test("email is unique regardless of case among live users", async () => {
    await user({ email: "Case@Example.com" });
    await expect(user({ email: "case@example.COM" })).rejects.toMatchObject(UNIQUE);
  });

  test("a deleted user's email may be reused; the row keeps its id", async () => {
    const old = await user({ email: "reuse@example.com" });
    await db.pool.query("UPDATE users SET deleted_at = now(), version = 2 WHERE id = $1", [old.id]);
    await user({ email: "REUSE@example.com" });
    await expect(user({ id: old.id, email: "other@example.com" })).rejects.toMatchObject(UNIQUE);
  });

  test("display_name is 1..100 characters, email looks like one, version >= 1", async () => {
    await expect(user({ display_name: "" })).rejects.toMatchObject(CHECK);
    await expect(user({ display_name: "x".repeat(101) })).rejects.toMatchObject(CHECK);
    await user({ display_name: "é".repeat(100) });
    await expect(user({ email: "no-at-sign" })).rejects.toMatchObject(CHECK);
    await expect(user({ version: 0 })).rejects.toMatchObject(CHECK);
    await expect(user({ email: null })).rejects.toMatchObject(NOT_NULL);
  });

  test("the active model must exist and belong to the user", async () => {
    const owner = await user();
    const other = await user();
    const voice = await trained("voice_models", owner.id);
    const face = await trained("face_models", owner.id);
    await db.pool.query(
      "UPDATE users SET active_voice_model_id = $2, active_face_model_id = $3 WHERE id = $1",
      [owner.id, voice.id, face.id],
    );
    await expect(
      db.pool.query("UPDATE users SET active_voice_model_id = $2 WHERE id = $1", [other.id, voice.id]),
    ).rejects.toMatchObject(FOREIGN_KEY);
    await expect(
      db.pool.query("UPDATE users SET active_face_model_id = $2 WHERE id = $1", [owner.id, randomUUID()]),
    ).rejects.toMatchObject(FOREIGN_KEY);
  });
});

describe("voice and face models", () => {
  for (const table of ["voice_models", "face_models"] as const) {
    test(`${table}: status, score, sample length and owner are checked`, async () => {
      const owner = await user();
      await expect(model(table, owner.id, { status: "DONE" })).rejects.toMatchObject(CHECK);
      await expect(model(table, owner.id, { sample_seconds: 0 })).rejects.toMatchObject(CHECK);
      await expect(model(table, owner.id, { sample_seconds: Number.NaN })).rejects.toMatchObject(CHECK);
      await expect(model(table, owner.id, { name: "" })).rejects.toMatchObject(CHECK);
      await expect(model(table, randomUUID())).rejects.toMatchObject(FOREIGN_KEY);
      const trainedRow = { status: "TRAINED", trained_at: new Date() };
      await expect(model(table, owner.id, { ...trainedRow, quality_score: 1.5 })).rejects.toMatchObject(
        CHECK,
      );
      await expect(model(table, owner.id, trainedRow)).rejects.toMatchObject(CHECK);
      await expect(model(table, owner.id, { quality_score: 0.5 })).rejects.toMatchObject(CHECK);
      await expect(model(table, owner.id, { failure_reason: "why" })).rejects.toMatchObject(CHECK);
      await model(table, owner.id, { status: "FAILED", failure_reason: "too noisy", trained_at: new Date() });
      const ok = await trained(table, owner.id);
      expect(ok.status).toBe("TRAINED");
    });
  }
});

describe("documents", () => {
  test("size must match the content and stay within 2 MiB; type and status are checked", async () => {
    const owner = await user();
    await expect(document(owner.id, { size_bytes: 3 })).rejects.toMatchObject(CHECK);
    const big = Buffer.alloc(2 * 1024 * 1024 + 1, 97);
    await expect(document(owner.id, { content: big, size_bytes: big.length })).rejects.toMatchObject(CHECK);
    await expect(document(owner.id, { content_type: "text/html" })).rejects.toMatchObject(CHECK);
    await expect(document(owner.id, { title: "" })).rejects.toMatchObject(CHECK);
    await expect(document(owner.id, { status: "PROCESSED" })).rejects.toMatchObject(CHECK);
    await expect(document(owner.id, { status: "FAILED" })).rejects.toMatchObject(CHECK);
    await expect(document(owner.id, { word_count: 3 })).rejects.toMatchObject(CHECK);
    const max = Buffer.alloc(2 * 1024 * 1024, 97);
    await document(owner.id, { content: max, size_bytes: max.length });
  });

  test("chunks get a searchable tsvector, are unique per index and go with their document", async () => {
    const owner = await user();
    const doc = await document(owner.id);
    const chunk = {
      document_id: doc.id,
      chunk_index: 0,
      content: "The cats were running home",
      word_count: 5,
    };
    await insert("document_chunks", chunk);
    await expect(insert("document_chunks", chunk)).rejects.toMatchObject(UNIQUE);
    await expect(insert("document_chunks", { ...chunk, chunk_index: -1 })).rejects.toMatchObject(CHECK);
    await expect(insert("document_chunks", { ...chunk, document_id: randomUUID() })).rejects.toMatchObject(
      FOREIGN_KEY,
    );
    const hits = await db.pool.query(
      "SELECT chunk_index FROM document_chunks WHERE tsv @@ websearch_to_tsquery('english', 'cat run')",
    );
    expect(hits.rows).toEqual([{ chunk_index: 0 }]);
    await db.pool.query("DELETE FROM documents WHERE id = $1", [doc.id]);
    const left = await db.pool.query("SELECT 1 FROM document_chunks WHERE document_id = $1", [doc.id]);
    expect(left.rowCount).toBe(0);
  });
});

describe("conversations and turns", () => {
  test("ended_at is set exactly when the conversation has ENDED", async () => {
    const owner = await user();
    await expect(conversation(owner.id, { status: "ENDED" })).rejects.toMatchObject(CHECK);
    await expect(conversation(owner.id, { ended_at: new Date() })).rejects.toMatchObject(CHECK);
    await expect(conversation(owner.id, { status: "PAUSED" })).rejects.toMatchObject(CHECK);
    await conversation(owner.id, { status: "ENDED", ended_at: new Date(Date.now() + 1000) });
  });

  test("the conversation's models must belong to its user", async () => {
    const owner = await user();
    const other = await user();
    const voice = await trained("voice_models", owner.id);
    await conversation(owner.id, { voice_model_id: voice.id });
    await expect(conversation(other.id, { voice_model_id: voice.id })).rejects.toMatchObject(FOREIGN_KEY);
    await expect(conversation(owner.id, { face_model_id: randomUUID() })).rejects.toMatchObject(FOREIGN_KEY);
  });

  test("turns: one per (conversation, sequence), an existing conversation, sane values", async () => {
    const owner = await user();
    const c = await conversation(owner.id);
    await turn(c.id);
    await expect(turn(c.id)).rejects.toMatchObject(UNIQUE);
    await expect(turn(randomUUID())).rejects.toMatchObject(FOREIGN_KEY);
    await expect(turn(c.id, { sequence: 0 })).rejects.toMatchObject(CHECK);
    await expect(turn(c.id, { sequence: 2, speaker: "BOT" })).rejects.toMatchObject(CHECK);
    await expect(turn(c.id, { sequence: 2, text: "" })).rejects.toMatchObject(CHECK);
    await expect(turn(c.id, { sequence: 2, text: "x".repeat(10_001) })).rejects.toMatchObject(CHECK);
    await expect(turn(c.id, { sequence: 2, audio_ms: -1 })).rejects.toMatchObject(CHECK);
    await expect(turn(c.id, { sequence: 2, latency_ms: 2 ** 32 })).rejects.toMatchObject(CHECK);
    await turn(c.id, { sequence: 2, speaker: "CLONE", text: "x".repeat(10_000), audio_ms: 2 ** 32 - 1 });
  });
});
