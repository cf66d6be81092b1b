/**
 * Erasure on the real tier (gateway, worker, relay and consistency processes on Postgres + JetStream): a user
 * with data everywhere (profile, voice and face models with names, a failed training's reason, documents with
 * content and chunks, a failed processing, a conversation with turns, refusals and a dead letter naming its
 * aggregates, cached answers) is deleted; afterwards no column of any table of the database holds its email,
 * names or the distinctive words of its texts, no message of the EVENTS stream carries them, no cached answer
 * serves them, and GetAggregateHistory still lists every event with its type, version and id.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DeliverPolicy, jetstream } from "@nats-io/jetstream";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { AggregateType, Speaker } from "../gen/clone/v1/enums_pb";
import type { HistoryEvent } from "../gen/clone/v1/read_models_pb";
import { createQueryCallers, type QueryCaller } from "../queries/callers.testkit";
import { createTestStack, type TestStack } from "../testing";

const secret = "e2e-secret-0123456789abcdef";
const tag = Math.random().toString(36).slice(2, 8);
const word = (name: string) => `${name}${tag}`;
const email = `erasure.${tag}@example.com`;
const secrets = {
  email,
  displayName: word("Zanzibarname"),
  voiceName: word("Vocalisname"),
  faceName: word("Facadename"),
  trainingReason: word("Failreason"),
  title: word("Titleword"),
  content: word("Contentword"),
  badContent: word("Brokenjson"),
  turn: word("Turnword"),
};

let stack: TestStack;
let commands: GrpcClient<typeof CommandService>;
let admin: QueryCaller[] = [];
let adminToken: string;
const userId = crypto.randomUUID();
const voiceId = crypto.randomUUID();
const pendingVoiceId = crypto.randomUUID();
const faceId = crypto.randomUUID();
const docId = crypto.randomUUID();
const badDocId = crypto.randomUUID();
const conversationId = crypto.randomUUID();
/** Ended by the user before the deletion: only the user.deleted invalidation drops its cached history. */
const endedId = crypto.randomUUID();

/** Every (table, column) of the database whose type can hold text, and the secrets found in it. */
async function findSecrets(words: string[] = Object.values(secrets)): Promise<string[]> {
  const columns = await stack.db.pool.query<{ s: string; t: string; c: string; type: string }>(
    `SELECT c.table_schema AS s, c.table_name AS t, c.column_name AS c, c.data_type AS type
       FROM information_schema.columns c
       JOIN information_schema.tables t USING (table_schema, table_name)
      WHERE t.table_type = 'BASE TABLE' AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
        AND c.data_type IN ('text', 'character varying', 'character', 'bytea', 'json', 'jsonb', 'tsvector', 'ARRAY')`,
  );
  expect(columns.rows.length).toBeGreaterThan(20);
  const found: string[] = [];
  for (const { s, t, c, type } of columns.rows) {
    const expr = type === "bytea" ? `encode("${c}", 'escape')` : `"${c}"::text`;
    const res = await stack.db.pool.query<{ hit: string }>(
      `SELECT w AS hit FROM unnest($1::text[]) w
        WHERE EXISTS (SELECT 1 FROM "${s}"."${t}" WHERE lower(${expr}) LIKE '%' || lower(w) || '%')`,
      [words],
    );
    for (const r of res.rows) found.push(`${t}.${c}: ${r.hit}`);
  }
  return found;
}

/** JSON of an answer (its int64 fields as strings). */
const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? String(x) : x));

/** The secrets found in the messages of the EVENTS stream (every message, read in full). */
async function streamSecrets(words: string[] = Object.values(secrets)): Promise<string[]> {
  const js = jetstream(stack.nats.nc);
  const consumer = await js.consumers.get(`${stack.nats.prefix}_EVENTS`, {
    deliver_policy: DeliverPolicy.All,
  });
  const found = new Set<string>();
  try {
    for (let done = false; !done; ) {
      const messages = await consumer.fetch({ max_messages: 500, expires: 1_000 });
      let got = 0;
      for await (const m of messages) {
        got++;
        const text = m.string().toLowerCase();
        for (const w of words) if (text.includes(w.toLowerCase())) found.add(`${m.subject}: ${w}`);
        if (m.info.pending === 0) {
          done = true;
          break;
        }
      }
      if (got === 0) done = true;
    }
  } finally {
    await consumer.delete().catch(() => {});
  }
  return [...found].sort();
}

async function waitFor<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, ms = 20_000) {
  const until = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${json(v)}`);
    await Bun.sleep(100);
  }
}

beforeAll(async () => {
  stack = await createTestStack({ AUTH_JWT_SECRET: secret });
  await stack.start("worker");
  await stack.start("relay");
  await stack.start("consistency");
  const addresses = await stack.addresses(await stack.start("gateway"));
  commands = createGrpcClient(CommandService, addresses.grpc);
  const token = await mintToken({ sub: userId, role: "user", secret });
  adminToken = await mintToken({ sub: "ops", role: "admin", secret });
  admin = createQueryCallers(addresses, adminToken);
  const as = { token };
  const svc = { token: adminToken };
  await commands.call("createUser", { userId, email, displayName: secrets.displayName }, as);
  await commands.call(
    "registerVoiceModel",
    { voiceModelId: voiceId, userId, name: secrets.voiceName, sampleSeconds: 30 },
    as,
  );
  await commands.call(
    "completeVoiceModelTraining",
    { voiceModelId: voiceId, succeeded: true, qualityScore: 0.9 },
    svc,
  );
  await commands.call("activateVoiceModel", { voiceModelId: voiceId }, as);
  await commands.call(
    "registerVoiceModel",
    { voiceModelId: pendingVoiceId, userId, name: `${secrets.voiceName} two`, sampleSeconds: 30 },
    as,
  );
  await commands.call(
    "registerFaceModel",
    { faceModelId: faceId, userId, name: secrets.faceName, sampleSeconds: 30 },
    as,
  );
  await commands.call(
    "completeFaceModelTraining",
    { faceModelId: faceId, succeeded: false, failureReason: `camera said ${secrets.trainingReason}` },
    svc,
  );
  const text = (s: string) => new TextEncoder().encode(s);
  await commands.call(
    "uploadDocument",
    {
      documentId: docId,
      userId,
      title: secrets.title,
      contentType: "text/plain",
      content: text(`my notes mention ${secrets.content} twice: ${secrets.content}`),
    },
    as,
  );
  await commands.call(
    "uploadDocument",
    {
      documentId: badDocId,
      userId,
      title: `${secrets.title} broken`,
      contentType: "application/json",
      content: text(`{"note": ${secrets.badContent}`),
    },
    as,
  );
  await commands.call("startConversation", { conversationId, userId }, as);
  for (let i = 1; i <= 3; i++) {
    await commands.call(
      "recordConversationTurn",
      {
        conversationId,
        speaker: Speaker.USER,
        text: `${secrets.turn} number ${i}`,
        audioMs: 5,
        latencyMs: 5,
      },
      as,
    );
  }
  await commands.call("startConversation", { conversationId: endedId, userId }, as);
  await commands.call(
    "recordConversationTurn",
    {
      conversationId: endedId,
      speaker: Speaker.USER,
      text: `${secrets.turn} ended`,
      audioMs: 5,
      latencyMs: 5,
    },
    as,
  );
  await commands.call("endConversation", { conversationId: endedId }, as);
  // A refusal, stored in command_results with its message.
  const refusal = await commands
    .call("completeFaceModelTraining", { faceModelId: faceId, succeeded: true, qualityScore: 1 }, svc)
    .then(
      () => "OK",
      (e: { code?: number }) => e.code,
    );
  expect(refusal).toBe(9); // FAILED_PRECONDITION
  // A dead letter of the user's work (as the command path records a command it gave up on).
  await stack.db.pool.query(
    `INSERT INTO dead_letters (source, consumer, item_key, error, payload)
     VALUES ('command', 'RecordConversationTurn', $1, 'constraint', $2::json)`,
    [
      `dl-${conversationId}`,
      JSON.stringify({ command: { conversationId, text: `${secrets.turn} dead-lettered` } }),
    ],
  );
}, 60_000);

afterAll(async () => {
  commands?.close();
  for (const c of admin) c.close();
  await stack?.stop();
});

describe("erasure of a deleted user", () => {
  test("every table is searched: before, the data is everywhere; after DeleteUser, nowhere; the trail stays", async () => {
    const call = admin[0] as QueryCaller;
    // The read side has it all, and the caches hold it.
    await waitFor(
      "the documents' processing",
      () => call.call("listDocuments", { userId }),
      (r) =>
        (r.documents as { status: number }[]).every((d) => d.status !== 1) &&
        (r.documents as unknown[]).length === 2,
    );
    const search = await waitFor(
      "the search",
      () => call.call("searchDocuments", { userId, query: secrets.content }),
      (r) => (r.hits as unknown[]).length === 1,
    );
    expect(json(search)).toContain(secrets.title);
    const read = {
      profile: await call.call("getUserProfile", { userId }),
      history: await call.call("getConversationHistory", { conversationId }),
      ended: await call.call("getConversationHistory", { conversationId: endedId }),
      voices: await call.call("listVoiceModels", { userId }),
      faces: await call.call("listFaceModels", { userId }),
      conversations: await call.call("listConversations", { userId }),
      statistics: await call.call("getUserStatistics", { userId }),
    };
    expect(json(read.profile)).toContain(secrets.displayName);
    expect(json(read.history)).toContain(secrets.turn);
    expect(json(read.ended)).toContain(secrets.turn);
    expect((await call.call("getConversationHistory", { conversationId: endedId })).meta).toMatchObject({
      fromCache: true,
    });
    expect(json(read.faces)).toContain(secrets.faceName);
    const before = await findSecrets();
    for (const s of Object.values(secrets)) expect(before.some((f) => f.endsWith(`: ${s}`))).toBe(true);
    expect(before.some((f) => f.startsWith("events."))).toBe(true);
    expect(before.some((f) => f.startsWith("document_chunks."))).toBe(true);
    expect(before.some((f) => f.startsWith("dead_letters."))).toBe(true);

    const published = await streamSecrets();
    for (const s of [secrets.email, secrets.turn, secrets.title, secrets.trainingReason]) {
      expect(published.some((f) => f.endsWith(`: ${s}`))).toBe(true);
    }

    await commands.call("deleteUser", { userId }, { token: adminToken });
    const left = await waitFor("the erasure", findSecrets, (f) => f.length === 0);
    expect(left).toEqual([]);
    // The copies published on the EVENTS stream are erased too.
    expect(
      await waitFor(
        "the stream's erasure",
        () => streamSecrets(),
        (f) => f.length === 0,
      ),
    ).toEqual([]);

    // The stored refusal keeps its code, not its message.
    const refusal = await stack.db.pool.query<{
      result: { ok: boolean; error: { code: string; message: string } };
    }>("SELECT result FROM command_results WHERE aggregate_id = $1 AND result -> 'ok' = 'false'", [faceId]);
    expect(refusal.rows.map((r) => [r.result.error.code, r.result.error.message])).toEqual([
      ["FAILED_PRECONDITION", "[redacted]"],
    ]);

    // No cache serves the user's data any more (the same calls, without bypass_cache).
    for (const c of admin) {
      expect(await c.code("getUserProfile", { userId })).toBe("NOT_FOUND");
      expect(await c.code("getConversationHistory", { conversationId })).toBe("NOT_FOUND");
      expect(await c.code("getConversationHistory", { conversationId: endedId })).toBe("NOT_FOUND");
      const rest = [
        await c.call("searchDocuments", { userId, query: secrets.content }),
        await c.call("listDocuments", { userId }),
        await c.call("listVoiceModels", { userId }),
        await c.call("listFaceModels", { userId }),
        await c.call("listConversations", { userId }),
      ];
      const text = json(rest);
      for (const s of Object.values(secrets)) expect(text).not.toContain(s);
    }

    // The audit trail keeps every event's type, version and id; the personal fields read [redacted]. The
    // erasure ended the conversation the user had left ACTIVE (through the command path, as a service).
    const page = (await call.call("getAggregateHistory", {
      aggregateType: AggregateType.CONVERSATION,
      aggregateId: conversationId,
    })) as unknown as { events: HistoryEvent[] };
    expect(page.events.map((e) => [e.eventType, Number(e.version)])).toEqual([
      ["conversation.started", 1],
      ["conversation.turn_recorded", 2],
      ["conversation.turn_recorded", 3],
      ["conversation.turn_recorded", 4],
      ["conversation.ended", 5],
    ]);
    expect(page.events.at(-1)?.actorSubject).toBe("user-erasure");
    expect(page.events.every((e) => /^[0-9a-f-]{36}$/.test(e.eventId))).toBe(true);
    expect(JSON.parse(page.events[1]?.payloadJson ?? "{}")).toMatchObject({
      conversationId,
      sequence: 1,
      text: "[redacted]",
    });
    const user = (await call.call("getAggregateHistory", {
      aggregateType: AggregateType.USER,
      aggregateId: userId,
    })) as unknown as { events: HistoryEvent[] };
    expect(user.events.map((e) => e.eventType)).toEqual(["user.created", "user.deleted"]);
    const doc = (await call.call("getAggregateHistory", {
      aggregateType: AggregateType.DOCUMENT,
      aggregateId: docId,
    })) as unknown as { events: HistoryEvent[] };
    expect(doc.events.map((e) => e.eventType)).toEqual([
      "document.uploaded",
      "document.processed",
      "document.deleted",
    ]);

    // Nothing comes back later: a turn is refused (the conversation was ended); a training result that
    // arrives for the user's pending model is erased after it.
    const lateTurn = await commands
      .call(
        "recordConversationTurn",
        { conversationId, speaker: Speaker.USER, text: secrets.turn, audioMs: 1, latencyMs: 1 },
        { token: adminToken },
      )
      .then(
        () => "OK",
        (e: { code?: number }) => e.code,
      );
    expect(lateTurn).toBe(9); // FAILED_PRECONDITION
    const lateReason = word("Latereason");
    await commands.call(
      "completeVoiceModelTraining",
      { voiceModelId: pendingVoiceId, succeeded: false, failureReason: lateReason },
      { token: adminToken },
    );
    const words = [...Object.values(secrets), lateReason];
    expect(
      await waitFor(
        "the late data's erasure",
        () => findSecrets(words),
        (f) => f.length === 0,
      ),
    ).toEqual([]);
    expect(
      await waitFor(
        "the late data's stream erasure",
        () => streamSecrets(words),
        (f) => f.length === 0,
      ),
    ).toEqual([]);
  }, 60_000);

  test("events stay immutable otherwise: no other column, and no live user's payload, may change", async () => {
    const live = crypto.randomUUID();
    await commands.call(
      "createUser",
      { userId: live, email: `live.${tag}@example.com`, displayName: "Live" },
      { token: adminToken },
    );
    const refused = async (sql: string, id: string) => {
      const error = await stack.db.pool.query(sql, [id]).then(
        () => undefined,
        (e: { code?: string }) => e.code,
      );
      expect(error).toBe("23000");
    };
    await refused("UPDATE events SET payload = erased_event_payload(payload) WHERE aggregate_id = $1", live);
    await refused(
      'UPDATE events SET payload = payload || \'{"text": "x"}\' WHERE aggregate_id = $1 AND aggregate_version = 1',
      conversationId,
    );
    await refused("UPDATE events SET type = 'user.deleted' WHERE aggregate_id = $1", userId);
    expect(
      await stack.db.pool.query("SELECT erase_user_data($1, 10)", [live]).then(
        () => "ran",
        (e: { code?: string }) => e.code,
      ),
    ).toBe("55000");
  });
});
