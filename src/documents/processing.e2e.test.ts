/**
 * Events leave the outbox and drive document processing: gateway, worker and relay processes on the real
 * tier. Every event reaches the EVENTS stream once, in publish order; uploaded documents get processed (or
 * fail with a reason) through the command path.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DeliverPolicy, jetstream } from "@nats-io/jetstream";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { decodePublishedEvent } from "../outbox";
import { createTestStack, type TestDatabase, type TestStack } from "../testing";
import { streamNames } from "../transport/jetstream/streams";

const secret = "e2e-secret-0123456789abcdef";
let stack: TestStack;
let db: TestDatabase;
let client: GrpcClient<typeof CommandService>;
let token: string;
const userId = crypto.randomUUID();
const enc = (s: string) => new TextEncoder().encode(s);

beforeAll(async () => {
  stack = await createTestStack({
    AUTH_JWT_SECRET: secret,
    DOCUMENT_CHUNK_WORDS: "4",
    DOCUMENT_CHUNK_OVERLAP_WORDS: "1",
    // Far beyond the test: events must go out because the worker wakes the relay, not because it polled.
    OUTBOX_POLL_MS: "60000",
  });
  db = stack.db;
  await stack.start("worker");
  await stack.start("relay");
  client = createGrpcClient(CommandService, (await stack.addresses(await stack.start("gateway"))).grpc);
  token = await mintToken({ sub: userId, role: "user", secret });
  await client.call("createUser", { userId, email: "docs@example.com", displayName: "Docs" }, { token });
}, 60_000);

afterAll(async () => {
  client?.close();
  await stack?.stop();
});

async function upload(contentType: string, content: Uint8Array): Promise<string> {
  const r = await client.call(
    "uploadDocument",
    { userId, title: contentType, contentType, content },
    { token },
  );
  return r.result?.aggregateId ?? "";
}

async function settled(documentId: string) {
  for (let i = 0; i < 200; i++) {
    const r = await db.pool.query(
      "SELECT status, word_count, chunk_count, failure_reason FROM documents WHERE id = $1",
      [documentId],
    );
    if (r.rows[0]?.status !== "UPLOADED") return r.rows[0];
    await Bun.sleep(50);
  }
  throw new Error(`document ${documentId} was not processed`);
}

describe("outbox relay and document processing (processes on Postgres + JetStream)", () => {
  test("text, markdown and JSON documents are processed into chunks with word counts", async () => {
    const plain = await upload("text/plain", enc("one two three four five six seven"));
    const md = await upload("text/markdown", enc("# Title\n\nSome **bold** words here"));
    const json = await upload("application/json", enc('{"a":"b c","d":[1,2]}'));
    expect(await settled(plain)).toEqual({
      status: "PROCESSED",
      word_count: 7,
      chunk_count: 2,
      failure_reason: null,
    });
    expect(await settled(md)).toMatchObject({ status: "PROCESSED", word_count: 5, chunk_count: 2 });
    expect(await settled(json)).toMatchObject({ status: "PROCESSED", word_count: 6, chunk_count: 2 });
    const chunks = await db.pool.query(
      "SELECT content FROM document_chunks WHERE document_id = $1 ORDER BY chunk_index",
      [plain],
    );
    expect(chunks.rows.map((r) => r.content)).toEqual(["one two three four", "four five six seven"]);
  });

  test("invalid UTF-8 and invalid JSON fail with a reason", async () => {
    const badUtf8 = await upload("text/plain", new Uint8Array([0x61, 0xff, 0x62]));
    const badJson = await upload("application/json", enc("{not json"));
    expect(await settled(badUtf8)).toMatchObject({ status: "FAILED", failure_reason: "invalid UTF-8" });
    expect((await settled(badJson)).failure_reason).toStartWith("invalid JSON");
    const failed = await db.pool.query(
      "SELECT count(*)::int AS n FROM events WHERE type = 'document.processing_failed' AND aggregate_id = ANY($1)",
      [[badUtf8, badJson]],
    );
    expect(failed.rows[0].n).toBe(2);
  });

  test("the outbox holds every event once and each reaches the EVENTS stream once, in publish order", async () => {
    const outbox = await db.pool.query<{ event_id: string }>(
      "SELECT event_id FROM events ORDER BY transaction_id, position",
    );
    for (let i = 0; i < 100; i++) {
      const unpublished = await db.pool.query(
        "SELECT count(*)::int AS n FROM events WHERE NOT event_published(transaction_id, position)",
      );
      if (unpublished.rows[0].n === 0) break;
      await Bun.sleep(50);
    }
    const js = jetstream(stack.nats.nc);
    const consumer = await js.consumers.get(streamNames(stack.nats.prefix).eventStream, {
      deliver_policy: DeliverPolicy.All,
    });
    const seen: string[] = [];
    const total = (await db.pool.query("SELECT count(*)::int AS n FROM events")).rows[0].n as number;
    const messages = await consumer.fetch({ max_messages: total + 10, expires: 2000 });
    for await (const m of messages) {
      seen.push(decodePublishedEvent(m.data).eventId);
      if (seen.length === total) break;
    }
    const ids = (
      await db.pool.query<{ event_id: string }>(
        "SELECT event_id FROM events ORDER BY transaction_id, position",
      )
    ).rows.map((r) => r.event_id);
    expect(outbox.rows.length).toBeGreaterThan(10);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(ids);
  });
});
