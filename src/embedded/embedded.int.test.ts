/**
 * The embedded mode in this process: PGlite behind pglite-socket, the in-process command path and event bus,
 * the real gateway over grpc-js. The same behaviour as the real tier: per-aggregate order, idempotency,
 * documents processed through the outbox.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ServiceError, status as Status } from "@grpc/grpc-js";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { Speaker } from "../gen/clone/v1/enums_pb";
import { createLogger } from "../logging";
import { embeddedTestConfig } from "../testing/embedded-config";
import { type RunningEmbedded, startEmbedded } from "./start";

const secret = "embedded-secret-0123456789abcdef";
const userId = crypto.randomUUID();
const enc = (s: string) => new TextEncoder().encode(s);
let embedded: RunningEmbedded;
let client: GrpcClient<typeof CommandService>;
let token: string;

beforeAll(async () => {
  const config = embeddedTestConfig({
    AUTH_JWT_SECRET: secret,
    DOCUMENT_CHUNK_WORDS: "4",
    DOCUMENT_CHUNK_OVERLAP_WORDS: "1",
    // Far beyond the test: events must go out because a commit wakes the relay, not because it polled.
    OUTBOX_POLL_MS: "60000",
  });
  embedded = await startEmbedded(config, createLogger({ level: "warn", name: "embedded-test" }));
  client = createGrpcClient(CommandService, `127.0.0.1:${embedded.grpcPort}`);
  token = await mintToken({ sub: userId, role: "user", secret });
}, 60_000);

afterAll(async () => {
  client?.close();
  await embedded?.stop();
});

async function query<R extends Record<string, unknown>>(sql: string, values: unknown[] = []): Promise<R[]> {
  return (await embedded.pool.query<R>(sql, values)).rows;
}

async function settled(documentId: string) {
  for (let i = 0; i < 200; i++) {
    const [row] = await query(
      "SELECT status, word_count, chunk_count, failure_reason FROM documents WHERE id = $1",
      [documentId],
    );
    if (row?.status !== "UPLOADED") return row;
    await Bun.sleep(25);
  }
  throw new Error(`document ${documentId} was not processed`);
}

/** The gRPC status code a call failed with (bun's `rejects` matchers take seconds on grpc-js errors). */
async function failureCode(call: Promise<unknown>): Promise<Status | "ok"> {
  try {
    await call;
    return "ok";
  } catch (error) {
    return (error as ServiceError).code;
  }
}

/** The message a query failed with. */
async function failureMessage(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "ok";
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

async function startConversation(): Promise<string> {
  const r = await client.call("startConversation", { userId }, { token });
  return r.result?.aggregateId ?? "";
}

describe("embedded mode (PGlite + in-process buses, one process)", () => {
  test("creates a user over gRPC; the write model and the outbox have it", async () => {
    const r = await client.call(
      "createUser",
      { userId, email: "embedded@example.com", displayName: "Embedded" },
      { token },
    );
    expect(r.result).toMatchObject({
      aggregateId: userId,
      version: 1n,
      events: ["user.created"],
      duplicate: false,
    });
    expect(r.result?.consistencyToken).not.toBe("");
    expect(await query("SELECT email, display_name FROM users WHERE id = $1", [userId])).toEqual([
      { email: "embedded@example.com", display_name: "Embedded" },
    ]);
    const taken = client.call(
      "createUser",
      { userId: crypto.randomUUID(), email: "EMBEDDED@example.com", displayName: "Other" },
      { token: await mintToken({ sub: "ops", role: "admin", secret }) },
    );
    expect(await failureCode(taken)).toBe(Status.ALREADY_EXISTS);
  });

  test("uploaded documents are processed through the outbox, the event bus and the command path", async () => {
    const upload = async (contentType: string, content: Uint8Array) =>
      (await client.call("uploadDocument", { userId, title: contentType, contentType, content }, { token }))
        .result?.aggregateId ?? "";
    const started = performance.now();
    const plain = await upload("text/plain", enc("one two three four five six seven"));
    const json = await upload("application/json", enc("{not json"));
    expect(await settled(plain)).toEqual({
      status: "PROCESSED",
      word_count: 7,
      chunk_count: 2,
      failure_reason: null,
    });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect((await settled(json))?.failure_reason).toStartWith("invalid JSON");
    const chunks = await query(
      "SELECT content FROM document_chunks WHERE document_id = $1 ORDER BY chunk_index",
      [plain],
    );
    expect(chunks.map((r) => r.content)).toEqual(["one two three four", "four five six seven"]);
    const hits = await query(
      "SELECT document_id FROM document_chunks WHERE tsv @@ websearch_to_tsquery('english', 'sixes')",
    );
    expect(hits).toEqual([{ document_id: plain }]);
    const types = await query("SELECT type FROM events WHERE aggregate_id = $1 ORDER BY aggregate_version", [
      plain,
    ]);
    expect(types.map((r) => r.type)).toEqual(["document.uploaded", "document.processed"]);
  });

  test("50 concurrent turns on one conversation are numbered 1..50 in the order applied", async () => {
    const conversationId = await startConversation();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        client.call(
          "recordConversationTurn",
          {
            conversationId,
            speaker: i % 2 ? Speaker.CLONE : Speaker.USER,
            text: `turn ${i}`,
            audioMs: 10,
            latencyMs: 5,
          },
          { token },
        ),
      ),
    );
    expect(results.map((r) => Number(r.result?.version)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 2),
    );
    const turns = await query(
      "SELECT sequence, text FROM turns WHERE conversation_id = $1 ORDER BY sequence",
      [conversationId],
    );
    expect(turns.map((r) => r.sequence)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(new Set(turns.map((r) => r.text)).size).toBe(50);
  });

  test("the same command sent 3 times at once: one effect, the others duplicates of it", async () => {
    const conversationId = await startConversation();
    const request = {
      options: { commandId: `same-${crypto.randomUUID()}` },
      conversationId,
      speaker: Speaker.CLONE,
      text: "once",
      audioMs: 1,
      latencyMs: 1,
    };
    const results = await Promise.all(
      [0, 1, 2].map(() => client.call("recordConversationTurn", request, { token })),
    );
    expect(results.filter((r) => r.result?.duplicate === false)).toHaveLength(1);
    expect(results.filter((r) => r.result?.duplicate === true)).toHaveLength(2);
    expect(new Set(results.map((r) => r.result?.version))).toEqual(new Set([2n]));
    expect(
      await query("SELECT count(*)::int AS n FROM turns WHERE conversation_id = $1", [conversationId]),
    ).toEqual([{ n: 1 }]);
    const reused = client.call("recordConversationTurn", { ...request, text: "another payload" }, { token });
    expect(await failureCode(reused)).toBe(Status.INVALID_ARGUMENT);
  });

  test("a failed query on the shared pool costs its connection, not the service", async () => {
    expect(await failureMessage(embedded.pool.query("SELECT no_such_column FROM users"))).toContain(
      "no_such_column",
    );
    expect(await failureMessage(embedded.pool.query("SELECT 1/0"))).toBe("division by zero");
    const conversationId = await startConversation();
    expect(conversationId).not.toBe("");
    const missing = client.call(
      "recordConversationTurn",
      { conversationId: crypto.randomUUID(), speaker: Speaker.USER, text: "x", audioMs: 1, latencyMs: 1 },
      { token: await mintToken({ sub: "ops", role: "admin", secret }) },
    );
    expect(await failureCode(missing)).toBe(Status.NOT_FOUND);
  });

  test("every committed event is published, in (transaction id, position) order", async () => {
    for (let i = 0; i < 200; i++) {
      const [row] = await query(
        "SELECT count(*)::int AS n FROM events WHERE NOT event_published(transaction_id, position)",
      );
      if (row?.n === 0) break;
      await Bun.sleep(25);
    }
    const [state] = await query(
      "SELECT last_published_position::text AS position, (SELECT max(position)::text FROM events) AS last FROM outbox_relay_state",
    );
    expect(state?.position).toBe(state?.last);
  });

  test("a deleted user's personal data is erased (the user-erasure consumer on the in-process bus)", async () => {
    const goneId = crypto.randomUUID();
    const goneToken = await mintToken({ sub: goneId, role: "user", secret });
    const as = { token: goneToken };
    const word = `Embeddedsecret${goneId.slice(0, 8)}`;
    await client.call("createUser", { userId: goneId, email: `${word}@example.com`, displayName: word }, as);
    const conversation = await client.call("startConversation", { userId: goneId }, as);
    const conversationId = conversation.result?.aggregateId ?? "";
    await client.call(
      "recordConversationTurn",
      { conversationId, speaker: Speaker.USER, text: `say ${word}`, audioMs: 1, latencyMs: 1 },
      as,
    );
    const found = () =>
      query<{ n: number }>(
        `SELECT ((SELECT count(*) FROM turns WHERE text LIKE $1)
              + (SELECT count(*) FROM users WHERE email LIKE $1 OR display_name LIKE $1)
              + (SELECT count(*) FROM events WHERE payload::text LIKE $1))::int AS n`,
        [`%${word}%`],
      );
    expect((await found())[0]?.n).toBe(4); // the users row, the turn, user.created and the turn event
    await client.call("deleteUser", { userId: goneId }, as);
    for (let i = 0; i < 200 && (await found())[0]?.n !== 0; i++) await Bun.sleep(25);
    expect((await found())[0]?.n).toBe(0);
    const [c] = await query("SELECT status FROM conversations WHERE id = $1", [conversationId]);
    expect(c?.status).toBe("ENDED");
  });
});
