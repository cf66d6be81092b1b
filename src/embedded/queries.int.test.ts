/**
 * The read side in the embedded mode: the consistency service refreshes the views inline and feeds the
 * gateway's tracker; QueryService answers with read-your-writes, the cache, and WatchConversation.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { AggregateType, AnswerSource, ReadConsistency, Speaker } from "../gen/clone/v1/enums_pb";
import { QueryService } from "../gen/clone/v1/query_service_pb";
import { createLogger } from "../logging";
import { embeddedTestConfig } from "../testing/embedded-config";
import { type RunningEmbedded, startEmbedded } from "./start";

const secret = "embedded-secret-0123456789abcdef";
const userId = crypto.randomUUID();
let embedded: RunningEmbedded;
let commands: GrpcClient<typeof CommandService>;
let queries: GrpcClient<typeof QueryService>;
let token: string;

beforeAll(async () => {
  const config = embeddedTestConfig({ AUTH_JWT_SECRET: secret });
  embedded = await startEmbedded(config, createLogger({ level: "warn", name: "embedded-queries-test" }));
  const address = `127.0.0.1:${embedded.grpcPort}`;
  commands = createGrpcClient(CommandService, address);
  queries = createGrpcClient(QueryService, address);
  token = await mintToken({ sub: userId, role: "user", secret });
}, 60_000);

afterAll(async () => {
  commands?.close();
  queries?.close();
  await embedded?.stop();
});

describe("embedded mode: QueryService", () => {
  test("read-your-writes, then a cache hit, then an invalidation", async () => {
    const created = await commands.call(
      "createUser",
      { userId, email: "e@example.com", displayName: "Em" },
      { token },
    );
    const r = await queries.call(
      "getUserProfile",
      { options: { minConsistencyToken: created.result?.consistencyToken ?? "" }, userId },
      { token },
    );
    expect(r.profile?.displayName).toBe("Em");
    expect((await queries.call("getUserProfile", { userId }, { token })).meta?.fromCache).toBe(true);
    const updated = await commands.call("updateUserProfile", { userId, displayName: "Emma" }, { token });
    const after = await queries.call(
      "getUserProfile",
      { options: { minConsistencyToken: updated.result?.consistencyToken ?? "" }, userId },
      { token },
    );
    expect(after.profile?.displayName).toBe("Emma");
    expect((await queries.call("getUserProfile", { userId }, { token })).profile?.displayName).toBe("Emma");
  });

  test("strong reads and the audit trail come from the write model (PGlite)", async () => {
    const strong = await queries.call(
      "getUserStatistics",
      { options: { consistency: ReadConsistency.STRONG }, userId },
      { token },
    );
    expect(strong.meta?.source).toBe(AnswerSource.WRITE_MODEL);
    expect(strong.statistics?.userId).toBe(userId);
    const history = await queries.call(
      "getAggregateHistory",
      { aggregateType: AggregateType.USER, aggregateId: userId },
      { token },
    );
    expect(history.events.map((e) => e.eventType)).toEqual(["user.created", "user.profile_updated"]);
    expect(history.events[1]?.actorSubject).toBe(userId);
  });

  test("conversation history and a live watch", async () => {
    const started = await commands.call("startConversation", { userId }, { token });
    const conversationId = started.result?.aggregateId ?? "";
    await commands.call(
      "recordConversationTurn",
      { conversationId, speaker: Speaker.USER, text: "hi", audioMs: 5, latencyMs: 1 },
      { token },
    );
    const seen: number[] = [];
    const watching = (async () => {
      for await (const m of queries.stream("watchConversation", { conversationId }, { token }))
        seen.push(m.turn?.sequence ?? 0);
    })();
    await Bun.sleep(50);
    await commands.call(
      "recordConversationTurn",
      { conversationId, speaker: Speaker.CLONE, text: "hello", audioMs: 7, latencyMs: 30 },
      { token },
    );
    const ended = await commands.call("endConversation", { conversationId }, { token });
    await watching;
    expect(seen).toEqual([1, 2]);
    const history = await queries.call(
      "getConversationHistory",
      { options: { minConsistencyToken: ended.result?.consistencyToken ?? "" }, conversationId },
      { token },
    );
    expect(history.summary).toMatchObject({
      turnCount: 2,
      userTurns: 1,
      cloneTurns: 1,
      avgCloneLatencyMs: 30,
    });
    expect(history.turns.map((t) => t.text)).toEqual(["hi", "hello"]);
  });
});
