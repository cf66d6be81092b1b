/**
 * QueryService end to end on the real tier: gateway, worker, relay and consistency processes; every query
 * against data written through CommandService; cache hits, misses and invalidation; read-your-writes;
 * WatchConversation.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ServiceError, status as Status } from "@grpc/grpc-js";
import { encodeToken } from "../contracts";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { ConversationStatus, DocumentStatus, ModelStatus, Speaker } from "../gen/clone/v1/enums_pb";
import { QueryService } from "../gen/clone/v1/query_service_pb";
import { createTestStack, type TestDatabase, type TestStack } from "../testing";

const secret = "e2e-secret-0123456789abcdef";
let stack: TestStack;
let db: TestDatabase;
let commands: GrpcClient<typeof CommandService>;
let queries: GrpcClient<typeof QueryService>;
const userId = crypto.randomUUID();
const otherId = crypto.randomUUID();
let token: string;
let otherToken: string;
let service: string;
let metricsUrl: string;

/** The gateway's `clone_query_cache_refreshes_total{reason}` summed over query types. */
async function refreshes(reason: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("clone_query_cache_refreshes_total{") && line.includes(`reason="${reason}"`)) {
      total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return total;
}

beforeAll(async () => {
  // These tests are about the views and the cache: a read-your-writes read waits for the views (up to its
  // deadline) rather than falling back to the write model after 1 s, whose answers are never cached (the
  // fallback has its own tests in read-consistency.e2e.test.ts); on a loaded machine the views can be later.
  stack = await createTestStack({
    AUTH_JWT_SECRET: secret,
    OUTBOX_POLL_MS: "200",
    READ_FALLBACK_WAIT_MS: "30000",
  });
  db = stack.db;
  for (const role of ["worker", "relay", "consistency"] as const) await stack.start(role);
  const addresses = await stack.addresses(await stack.start("gateway"));
  const address = addresses.grpc;
  metricsUrl = `${addresses.http}/metrics`;
  commands = createGrpcClient(CommandService, address);
  queries = createGrpcClient(QueryService, address);
  token = await mintToken({ sub: userId, role: "user", secret });
  otherToken = await mintToken({ sub: otherId, role: "user", secret });
  service = await mintToken({ sub: "svc", role: "service", secret });
}, 60_000);

afterAll(async () => {
  commands?.close();
  queries?.close();
  await stack?.stop();
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (e) {
    return Status[(e as ServiceError).code] as string;
  }
}

let last = "";
/** Runs a command and remembers its consistency token. */
async function run<T extends { result?: { consistencyToken: string; aggregateId: string } }>(p: Promise<T>) {
  const r = await p;
  last = r.result?.consistencyToken ?? "";
  return r.result?.aggregateId ?? "";
}
const fresh = () => ({ minConsistencyToken: last });

describe("QueryService over gRPC (processes on Postgres + JetStream)", () => {
  let voiceId = "";
  let conversationId = "";

  test("read-your-writes: a profile is visible right after CreateUser with its token", async () => {
    await run(
      commands.call("createUser", { userId, email: "q@example.com", displayName: "Query" }, { token }),
    );
    const r = await queries.call("getUserProfile", { options: fresh(), userId }, { token });
    expect(r.profile).toMatchObject({ userId, email: "q@example.com", displayName: "Query", version: 1n });
    expect(r.meta?.fromCache).toBe(false);
    expect(r.meta?.consistencyToken).toStartWith("c1.");
  });

  test("cache: a repeated query is a hit; an update invalidates it; read-your-writes sees it at once", async () => {
    const a = await queries.call("getUserStatistics", { options: fresh(), userId }, { token });
    const b = await queries.call("getUserStatistics", { userId }, { token });
    expect(a.meta?.fromCache).toBe(false);
    expect(b.meta?.fromCache).toBe(true);
    expect(b.meta?.consistencyToken).toBe(a.meta?.consistencyToken ?? "");
    expect(Number(b.meta?.stalenessMs)).toBeGreaterThanOrEqual(0);
    // The profile read in the previous test was cached too.
    expect((await queries.call("getUserProfile", { userId }, { token })).meta?.fromCache).toBe(true);
    await run(commands.call("updateUserProfile", { userId, displayName: "Renamed" }, { token }));
    const c = await queries.call("getUserProfile", { options: fresh(), userId }, { token });
    expect(c.profile?.displayName).toBe("Renamed");
    expect(c.meta?.fromCache).toBe(false);
    // Once the invalidation has reached the gateway, no read returns the old value, cached or not.
    for (let i = 0; i < 20; i++) {
      const r = await queries.call("getUserProfile", { userId }, { token });
      expect(r.profile?.displayName).toBe("Renamed");
    }
    const bypass = await queries.call(
      "getUserProfile",
      { options: { bypassCache: true }, userId },
      { token },
    );
    expect(bypass.meta?.fromCache).toBe(false);
  });

  test("cache: an answer in use is loaded again right after its invalidation, so the next read is a hit", async () => {
    await queries.call("getUserProfile", { options: fresh(), userId }, { token });
    expect((await queries.call("getUserProfile", { userId }, { token })).meta?.fromCache).toBe(true); // in use
    const before = await refreshes("invalidated");
    await run(commands.call("updateUserProfile", { userId, displayName: "Reloaded" }, { token }));
    // The invalidation reaches the gateway, which loads the answer again in the background.
    const deadline = Date.now() + 4_000;
    while ((await refreshes("invalidated")) === before && Date.now() < deadline) await Bun.sleep(10);
    expect(await refreshes("invalidated")).toBeGreaterThan(before);
    await Bun.sleep(100); // the reload's read of the view
    const r = await queries.call("getUserProfile", { userId }, { token });
    expect(r.profile?.displayName).toBe("Reloaded");
    expect(r.meta?.fromCache).toBe(true);
  });

  test("models: list with status and is_active, profile names the active model", async () => {
    voiceId = await run(
      commands.call("registerVoiceModel", { userId, name: "my voice", sampleSeconds: 30 }, { token }),
    );
    await run(
      commands.call(
        "completeVoiceModelTraining",
        { voiceModelId: voiceId, succeeded: true, qualityScore: 0.75 },
        { token: service },
      ),
    );
    await run(commands.call("activateVoiceModel", { voiceModelId: voiceId }, { token }));
    const faceId = await run(
      commands.call("registerFaceModel", { userId, name: "my face", sampleSeconds: 10 }, { token }),
    );
    const voices = await queries.call("listVoiceModels", { options: fresh(), userId }, { token });
    expect(voices.voiceModels).toHaveLength(1);
    expect(voices.voiceModels[0]).toMatchObject({
      voiceModelId: voiceId,
      status: ModelStatus.TRAINED,
      qualityScore: 0.75,
      isActive: true,
    });
    const faces = await queries.call("listFaceModels", { options: fresh(), userId }, { token });
    expect(faces.faceModels[0]).toMatchObject({
      faceModelId: faceId,
      status: ModelStatus.PENDING,
      isActive: false,
    });
    const profile = await queries.call("getUserProfile", { options: fresh(), userId }, { token });
    expect(profile.profile).toMatchObject({ activeVoiceModelId: voiceId, activeVoiceModelName: "my voice" });
  });

  test("conversations: summary, statistics, history pages and model usage", async () => {
    conversationId = await run(commands.call("startConversation", { userId }, { token }));
    for (let i = 0; i < 5; i++) {
      await run(
        commands.call(
          "recordConversationTurn",
          {
            conversationId,
            speaker: i % 2 ? Speaker.CLONE : Speaker.USER,
            text: `turn ${i}`,
            audioMs: 100,
            latencyMs: 10 * i,
          },
          { token },
        ),
      );
    }
    const list = await queries.call("listConversations", { options: fresh(), userId }, { token });
    expect(list.conversations[0]).toMatchObject({
      conversationId,
      status: ConversationStatus.ACTIVE,
      voiceModelId: voiceId,
      turnCount: 5,
      userTurns: 3,
      cloneTurns: 2,
      totalAudioMs: 500n,
      avgCloneLatencyMs: 20,
    });
    const page1 = await queries.call(
      "getConversationHistory",
      { options: fresh(), conversationId, pageSize: 3 },
      { token },
    );
    expect(page1.turns.map((t) => t.sequence)).toEqual([1, 2, 3]);
    expect(page1.nextPageToken).not.toBe("");
    const page2 = await queries.call(
      "getConversationHistory",
      { conversationId, pageSize: 3, pageToken: page1.nextPageToken },
      { token },
    );
    expect(page2.turns.map((t) => t.sequence)).toEqual([4, 5]);
    expect(page2.nextPageToken).toBe("");
    const stats = await queries.call("getUserStatistics", { options: fresh(), userId }, { token });
    expect(stats.statistics).toMatchObject({
      conversationsTotal: 1,
      conversationsActive: 1,
      turnsTotal: 5,
      voiceModelsTotal: 1,
      faceModelsTotal: 1,
    });
    const voices = await queries.call("listVoiceModels", { options: fresh(), userId }, { token });
    expect(voices.voiceModels[0]).toMatchObject({
      conversationsCount: 1,
      cloneTurnsCount: 2,
      totalAudioMs: 200n,
    });
  });

  test("documents: keyset pages, status filter, full-text search with snippets", async () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    for (const [title, text] of [
      ["cooking", "How to bake sourdough bread with a crunchy crust"],
      ["travel", "Notes from a trip to the mountains of Norway"],
      ["garden", "Growing tomatoes and basil on a sunny balcony"],
    ] as const) {
      await run(
        commands.call(
          "uploadDocument",
          { userId, title, contentType: "text/plain", content: enc(text) },
          { token },
        ),
      );
    }
    await run(
      commands.call(
        "uploadDocument",
        { userId, title: "broken", contentType: "application/json", content: enc("{") },
        { token },
      ),
    );
    // Processing is asynchronous: wait until the processed ones are listed.
    let processed: unknown[] = [];
    for (let i = 0; i < 100; i++) {
      const all = await db.pool.query(
        "SELECT count(*)::int AS n FROM documents WHERE user_id = $1 AND status <> 'UPLOADED'",
        [userId],
      );
      if (all.rows[0].n === 4) break;
      await Bun.sleep(50);
    }
    for (let i = 0; i < 100 && processed.length < 3; i++) {
      processed = (
        await queries.call(
          "listDocuments",
          { options: { bypassCache: true }, userId, status: DocumentStatus.PROCESSED },
          { token },
        )
      ).documents;
      if (processed.length < 3) await Bun.sleep(50);
    }
    expect(processed).toHaveLength(3);
    const page1 = await queries.call("listDocuments", { userId, pageSize: 3 }, { token });
    expect(page1.documents).toHaveLength(3);
    const page2 = await queries.call(
      "listDocuments",
      { userId, pageSize: 3, pageToken: page1.nextPageToken },
      { token },
    );
    expect(page2.documents).toHaveLength(1);
    expect(new Set([...page1.documents, ...page2.documents].map((d) => d.title))).toEqual(
      new Set(["cooking", "travel", "garden", "broken"]),
    );
    const listFailed = () =>
      queries.call(
        "listDocuments",
        { options: { bypassCache: true }, userId, status: DocumentStatus.FAILED },
        { token },
      );
    let failed = await listFailed();
    for (let i = 0; i < 100 && failed.documents.length === 0; i++) {
      await Bun.sleep(50);
      failed = await listFailed();
    }
    expect(failed.documents[0]?.failureReason).toStartWith("invalid JSON");
    const hits = await queries.call(
      "searchDocuments",
      { options: { bypassCache: true }, userId, query: "sourdough bread" },
      { token },
    );
    expect(hits.hits[0]).toMatchObject({ title: "cooking" });
    expect(hits.hits[0]?.snippet).toContain("<b>");
    expect(hits.hits[0]?.rank).toBeGreaterThan(0);
    const tampered = `${page1.nextPageToken.slice(0, -2)}xx`;
    expect(
      await code(queries.call("listDocuments", { userId, pageSize: 3, pageToken: tampered }, { token })),
    ).toBe("INVALID_ARGUMENT");
  });

  test("WatchConversation: past turns, then live ones in order, and it ends with the conversation", async () => {
    const seen: number[] = [];
    const watching = (async () => {
      for await (const r of queries.stream(
        "watchConversation",
        { conversationId, afterSequence: 2 },
        { token },
      )) {
        seen.push(r.turn?.sequence ?? -1);
      }
    })();
    await Bun.sleep(100);
    for (let i = 0; i < 3; i++) {
      await commands.call(
        "recordConversationTurn",
        { conversationId, speaker: Speaker.USER, text: `live ${i}`, audioMs: 1, latencyMs: 1 },
        { token },
      );
    }
    await commands.call("endConversation", { conversationId }, { token });
    await watching;
    expect(seen).toEqual([3, 4, 5, 6, 7, 8]);
  });

  test("errors: other users' data, bad tokens, a token the server never handed out", async () => {
    expect(await code(queries.call("getUserProfile", { userId }, { token: otherToken }))).toBe(
      "PERMISSION_DENIED",
    );
    expect(
      await code(queries.call("getConversationHistory", { conversationId }, { token: otherToken })),
    ).toBe("PERMISSION_DENIED");
    expect(await code(queries.call("getUserProfile", { userId: "nope" }, { token }))).toBe(
      "INVALID_ARGUMENT",
    );
    expect(
      await code(
        queries.call("getUserProfile", { options: { minConsistencyToken: "garbage" }, userId }, { token }),
      ),
    ).toBe("INVALID_ARGUMENT");
    const future = encodeToken({ transactionId: 2n ** 60n, position: 1n });
    expect(
      await code(
        queries.call(
          "getUserProfile",
          { options: { minConsistencyToken: future }, userId },
          { token, deadline: Date.now() + 300 },
        ),
      ),
    ).toBe("INVALID_ARGUMENT"); // beyond anything written (an unmet real token: read-consistency.e2e.test.ts)
    expect(
      await code(queries.call("getUserProfile", { userId: crypto.randomUUID() }, { token: service })),
    ).toBe("NOT_FOUND");
    expect(await code(queries.call("getUserProfile", { userId }))).toBe("UNAUTHENTICATED");
  });

  test("deleting the user makes its reads disappear", async () => {
    await run(commands.call("deleteUser", { userId }, { token }));
    expect(await code(queries.call("getUserProfile", { options: fresh(), userId }, { token }))).toBe(
      "NOT_FOUND",
    );
    const docs = await queries.call("listDocuments", { options: fresh(), userId }, { token });
    expect(docs.documents).toHaveLength(0);
  });
});
