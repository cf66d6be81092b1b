/**
 * GetAggregateHistory on the real tier (gateway and worker processes on Postgres + JetStream), over gRPC and
 * Connect, and `bun run cli history`: an aggregate's events by version with the command id, the actor, the
 * time and the payload; paged; a user reads only its own aggregates; a deleted user's personal data redacted.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { runCli } from "../cli/main";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { AggregateType, AnswerSource, Speaker } from "../gen/clone/v1/enums_pb";
import type { HistoryEvent } from "../gen/clone/v1/read_models_pb";
import { createTestStack, type TestStack } from "../testing";
import { createQueryCallers, type QueryCaller } from "./callers.testkit";
import { REDACTED } from "./definitions/history";

const secret = "e2e-secret-0123456789abcdef";
let stack: TestStack;
let grpcAddress: string;
let commands: GrpcClient<typeof CommandService>;
let owner: QueryCaller[] = [];
let other: QueryCaller[] = [];
let admin: QueryCaller[] = [];
let token: string;
let adminToken: string;
const userId = crypto.randomUUID();
const otherId = crypto.randomUUID();
const conversationId = crypto.randomUUID();
const turns = 5;

type Page = { events: HistoryEvent[]; nextPageToken: string; meta?: { source: AnswerSource } };

/** Every page of an aggregate's history, `pageSize` events at a time. */
async function history(call: QueryCaller, aggregateType: AggregateType, aggregateId: string, pageSize = 2) {
  const events: HistoryEvent[] = [];
  const sources = new Set<AnswerSource | undefined>();
  let pageToken = "";
  do {
    const page = (await call.call("getAggregateHistory", {
      aggregateType,
      aggregateId,
      pageSize,
      pageToken,
    })) as unknown as Page;
    events.push(...page.events);
    sources.add(page.meta?.source);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return { events, sources: [...sources] };
}

beforeAll(async () => {
  stack = await createTestStack({ AUTH_JWT_SECRET: secret });
  await stack.start("worker");
  const addresses = await stack.addresses(await stack.start("gateway"));
  grpcAddress = addresses.grpc;
  commands = createGrpcClient(CommandService, addresses.grpc);
  token = await mintToken({ sub: userId, role: "user", secret });
  adminToken = await mintToken({ sub: "ops", role: "admin", secret });
  owner = createQueryCallers(addresses, token);
  other = createQueryCallers(addresses, await mintToken({ sub: otherId, role: "user", secret }));
  admin = createQueryCallers(addresses, adminToken);
  const opts = (commandId: string) => ({ options: { commandId } });
  await commands.call(
    "createUser",
    { ...opts(`cu-${userId}`), userId, email: "h@example.com", displayName: "History" },
    { token },
  );
  await commands.call(
    "startConversation",
    { ...opts(`sc-${conversationId}`), conversationId, userId },
    { token },
  );
  for (let i = 1; i <= turns; i++) {
    await commands.call(
      "recordConversationTurn",
      {
        ...opts(`turn-${i}-${conversationId}`),
        conversationId,
        speaker: Speaker.USER,
        text: `hello ${i}`,
        audioMs: 1,
        latencyMs: 1,
      },
      { token },
    );
  }
  await commands.call(
    "endConversation",
    { ...opts(`end-${conversationId}`), conversationId },
    { token: adminToken },
  );
}, 60_000);

afterAll(async () => {
  commands?.close();
  for (const c of [...owner, ...other, ...admin]) c.close();
  await stack?.stop();
});

describe("GetAggregateHistory", () => {
  test("a conversation's events by version, paged, with command id, actor, time and JSON payload (gRPC and Connect)", async () => {
    for (const call of owner) {
      const { events, sources } = await history(call, AggregateType.CONVERSATION, conversationId);
      expect(sources).toEqual([AnswerSource.WRITE_MODEL]);
      expect(events.map((e) => Number(e.version))).toEqual(
        Array.from({ length: turns + 2 }, (_, i) => i + 1),
      );
      expect(events.map((e) => e.eventType)).toEqual([
        "conversation.started",
        ...Array.from({ length: turns }, () => "conversation.turn_recorded"),
        "conversation.ended",
      ]);
      expect(events.map((e) => e.commandId)).toEqual([
        `sc-${conversationId}`,
        ...Array.from({ length: turns }, (_, i) => `turn-${i + 1}-${conversationId}`),
        `end-${conversationId}`,
      ]);
      expect(events.map((e) => `${e.actorSubject}/${e.actorRole}`)).toEqual([
        ...Array.from({ length: turns + 1 }, () => `${userId}/user`),
        "ops/admin",
      ]);
      const turn = events[2] as HistoryEvent;
      expect(turn.aggregateType).toBe(AggregateType.CONVERSATION);
      expect(turn.aggregateId).toBe(conversationId);
      expect(JSON.parse(turn.payloadJson)).toMatchObject({ conversationId, sequence: 2, text: "hello 2" });
      expect(turn.consistencyToken).toStartWith("c1.");
      expect(Math.abs(Date.now() - Number(turn.occurredAt?.seconds) * 1000)).toBeLessThan(60_000);
      expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
    }
  });

  test("a user reads only its own aggregates; unknown is NOT_FOUND; no type is INVALID_ARGUMENT", async () => {
    for (const call of other) {
      expect(
        await call.code("getAggregateHistory", {
          aggregateType: AggregateType.CONVERSATION,
          aggregateId: conversationId,
        }),
      ).toBe("PERMISSION_DENIED");
      expect(
        await call.code("getAggregateHistory", { aggregateType: AggregateType.USER, aggregateId: userId }),
      ).toBe("PERMISSION_DENIED");
    }
    for (const call of admin) {
      expect((await history(call, AggregateType.USER, userId)).events.map((e) => e.eventType)).toEqual([
        "user.created",
      ]);
      expect(
        await call.code("getAggregateHistory", {
          aggregateType: AggregateType.DOCUMENT,
          aggregateId: crypto.randomUUID(),
        }),
      ).toBe("NOT_FOUND");
      // A conversation's id named as a user's is no user.
      expect(
        await call.code("getAggregateHistory", {
          aggregateType: AggregateType.USER,
          aggregateId: conversationId,
        }),
      ).toBe("NOT_FOUND");
      expect(
        await call.code("getAggregateHistory", {
          aggregateType: AggregateType.UNSPECIFIED,
          aggregateId: userId,
        }),
      ).toBe("INVALID_ARGUMENT");
    }
  });

  test("a deleted user's personal data is redacted; the rest of the trail stays", async () => {
    const goneId = crypto.randomUUID();
    await commands.call(
      "createUser",
      { userId: goneId, email: "gone@example.com", displayName: "Gone" },
      { token: adminToken },
    );
    await commands.call(
      "updateUserProfile",
      { userId: goneId, displayName: "Still here" },
      { token: adminToken },
    );
    const before = await history(admin[0] as QueryCaller, AggregateType.USER, goneId);
    expect(JSON.parse(before.events[0]?.payloadJson ?? "{}")).toMatchObject({ email: "gone@example.com" });
    await commands.call("deleteUser", { userId: goneId }, { token: adminToken });
    const { events } = await history(admin[0] as QueryCaller, AggregateType.USER, goneId);
    expect(events.map((e) => e.eventType)).toEqual(["user.created", "user.profile_updated", "user.deleted"]);
    expect(JSON.parse(events[0]?.payloadJson ?? "{}")).toMatchObject({
      userId: goneId,
      email: REDACTED,
      displayName: REDACTED,
    });
    expect(JSON.parse(events[1]?.payloadJson ?? "{}").displayName).toBe(REDACTED);
    expect(events.map((e) => e.payloadJson).join()).not.toContain("gone@example.com");
  });

  test("bun run cli history prints the trail", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(["history", "conversation", conversationId, "--addr", grpcAddress], {
      out: (t) => out.push(t),
      err: (t) => err.push(t),
      readStdin: async () => "",
      stderrIsTty: false,
      env: { PATH: process.env.PATH ?? "", AUTH_JWT_SECRET: secret },
    });
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const lines = (out[0] ?? "").split("\n");
    expect(lines[0]).toMatch(/^version\s+occurred_at\s+event\s+command_id\s+actor\s+payload$/);
    expect(lines).toHaveLength(2 + turns + 2);
    expect(lines[3]).toContain("conversation.turn_recorded");
    expect(lines[3]).toContain(`turn-1-${conversationId}`);
    expect(lines[3]).toContain(`${userId} (user)`);
    expect(lines[3]).toContain('"text":"hello 1"');
    const json: string[] = [];
    await runCli(
      ["history", "user", userId, "--addr", grpcAddress, "--json", "--sub", userId, "--role", "user"],
      {
        out: (t) => json.push(t),
        err: (t) => err.push(t),
        readStdin: async () => "",
        stderrIsTty: false,
        env: { PATH: process.env.PATH ?? "", AUTH_JWT_SECRET: secret },
      },
    );
    expect(JSON.parse(json[0] ?? "[]")).toMatchObject([
      { eventType: "user.created", commandId: `cu-${userId}` },
    ]);
  });
});
