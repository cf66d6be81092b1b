/**
 * Where answers come from, on the real tier (gateway, worker, relay and consistency processes on Postgres +
 * JetStream), over gRPC and Connect: strong reads from the write model; bounded consistency waits (a token
 * the server never handed out is INVALID_ARGUMENT, a wait without a deadline ends at QUERY_WAIT_MAX_MS); and,
 * with the consistency role stopped, every read still answered from the write model, equal to what the
 * views give once the role is back.
 *
 * Two gateways: `fallback` (READ_FALLBACK_WAIT_MS 300, READ_FALLBACK_STALENESS_MS 2000) and `bounded`
 * (READ_FALLBACK_CONCURRENCY 0: no fallback slot, so a token waits for the views).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { encodeToken } from "../contracts";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { AnswerSource, ReadConsistency, Speaker } from "../gen/clone/v1/enums_pb";
import { createTestStack, type RoleProcess, type TestStack } from "../testing";
import { createQueryCallers, type QueryCaller, type QueryMethod } from "./callers.testkit";

const secret = "e2e-secret-0123456789abcdef";
let stack: TestStack;
let commands: GrpcClient<typeof CommandService>;
let fallback: QueryCaller[] = [];
let bounded: QueryCaller[] = [];
let consistency: RoleProcess | undefined;
let metricsUrl: string;
let token: string;
const userId = crypto.randomUUID();
let conversationId = "";
let last = "";

type Answer = Record<string, unknown> & {
  meta?: { source: AnswerSource; stalenessMs: bigint; fromCache: boolean };
};

/** Every unary QueryService read of the user's data (history pages of 2, document pages of 1). */
const reads = (): [QueryMethod, Record<string, unknown>][] => [
  ["getUserProfile", { userId }],
  ["getUserStatistics", { userId }],
  ["listDocuments", { userId, pageSize: 1 }],
  ["searchDocuments", { userId, query: "falcon" }],
  ["listConversations", { userId }],
  ["getConversationHistory", { conversationId, pageSize: 2 }],
  ["listVoiceModels", { userId }],
  ["listFaceModels", { userId }],
];

/** The fallback gateway's gRPC caller. */
const first = () => fallback[0] as QueryCaller;

const withoutMeta = ({ meta: _meta, ...rest }: Answer) => rest;

async function run<T extends { result?: { consistencyToken: string; aggregateId: string } }>(p: Promise<T>) {
  const r = await p;
  last = r.result?.consistencyToken ?? last;
  return r.result?.aggregateId ?? "";
}

/** `clone_query_fallbacks_total` of the fallback gateway, by `query/reason`. */
async function fallbacks(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const line of (await (await fetch(metricsUrl)).text()).split("\n")) {
    const m = /^clone_query_fallbacks_total\{.*query="(\w+)",reason="(\w+)".*\} (\S+)$/.exec(line);
    if (m) out[`${m[1]}/${m[2]}`] = Number(m[3]);
  }
  return out;
}

beforeAll(async () => {
  stack = await createTestStack({ AUTH_JWT_SECRET: secret, OUTBOX_POLL_MS: "200" });
  await stack.start("worker");
  await stack.start("relay");
  consistency = await stack.start("consistency");
  const a = await stack.addresses(
    await stack.start("gateway", { READ_FALLBACK_WAIT_MS: "300", READ_FALLBACK_STALENESS_MS: "2000" }),
  );
  const b = await stack.addresses(
    await stack.start("gateway", { READ_FALLBACK_CONCURRENCY: "0", QUERY_WAIT_MAX_MS: "1500" }),
  );
  metricsUrl = `${a.http}/metrics`;
  commands = createGrpcClient(CommandService, a.grpc);
  token = await mintToken({ sub: userId, role: "user", secret });
  const service = await mintToken({ sub: "svc", role: "service", secret });
  fallback = createQueryCallers(a, token);
  bounded = createQueryCallers(b, token);
  // The user's data: a trained, active voice model, a face model, two documents, a conversation of 3 turns.
  await run(
    commands.call("createUser", { userId, email: "rc@example.com", displayName: "Reads" }, { token }),
  );
  const voiceModelId = await run(
    commands.call("registerVoiceModel", { userId, name: "voice", sampleSeconds: 30 }, { token }),
  );
  await run(
    commands.call(
      "completeVoiceModelTraining",
      { voiceModelId, succeeded: true, qualityScore: 0.5 },
      { token: service },
    ),
  );
  await run(commands.call("activateVoiceModel", { voiceModelId }, { token }));
  await run(commands.call("registerFaceModel", { userId, name: "face", sampleSeconds: 5 }, { token }));
  for (const [title, text] of [
    ["birds", "A peregrine falcon dives faster than any other bird"],
    ["trees", "Oaks and beeches in an old forest"],
  ]) {
    const content = new TextEncoder().encode(text);
    await run(
      commands.call("uploadDocument", { userId, title, contentType: "text/plain", content }, { token }),
    );
  }
  conversationId = await run(commands.call("startConversation", { userId }, { token }));
  for (let i = 1; i <= 3; i++) {
    await run(
      commands.call(
        "recordConversationTurn",
        {
          conversationId,
          speaker: i % 2 ? Speaker.USER : Speaker.CLONE,
          text: `turn ${i}`,
          audioMs: 100,
          latencyMs: 10 * i,
        },
        { token },
      ),
    );
  }
  // The document processor (in the worker) has processed both documents: search finds the falcon.
  const deadline = Date.now() + 15_000;
  for (;;) {
    const r = (await first().call("searchDocuments", {
      options: { consistency: ReadConsistency.STRONG },
      userId,
      query: "falcon",
    })) as { hits: unknown[] };
    if (r.hits.length === 1 || Date.now() > deadline) break;
    await Bun.sleep(100);
  }
  // The views have applied everything (the bounded gateway waits for them, whatever the machine's load).
  await bounded[0]?.call("getUserProfile", { userId, options: { minConsistencyToken: last } }, 30_000);
}, 60_000);

afterAll(async () => {
  commands?.close();
  for (const c of [...fallback, ...bounded]) c.close();
  await stack?.stop();
});

describe("strong reads", () => {
  test("every read with STRONG comes from the write model (never cached, staleness 0) and equals the view's answer", async () => {
    for (const [i, call] of fallback.entries()) {
      // The bounded gateway has no fallback slot: a token read there is always answered by the views.
      const views = bounded[i] as QueryCaller;
      for (const [method, request] of reads()) {
        const strong = async () =>
          (await call.call(method, {
            ...request,
            options: { consistency: ReadConsistency.STRONG },
          })) as Answer;
        const [a, b] = [await strong(), await strong()];
        const view = (await views.call(method, {
          ...request,
          options: { minConsistencyToken: last, bypassCache: true },
        })) as Answer;
        const where = `${call.name} ${method}`;
        expect(`${where}: ${a.meta?.source}/${b.meta?.source}`).toBe(
          `${where}: ${AnswerSource.WRITE_MODEL}/${AnswerSource.WRITE_MODEL}`,
        );
        expect(a.meta?.stalenessMs).toBe(0n);
        expect(b.meta?.fromCache).toBe(false);
        expect(view.meta?.source).toBe(AnswerSource.VIEW);
        expect({ where, answer: withoutMeta(a) }).toEqual({ where, answer: withoutMeta(view) });
      }
    }
    // An eventual read right after is cached: CACHE.
    const again = (await first().call("getUserProfile", { userId })) as Answer;
    const cached = (await first().call("getUserProfile", { userId })) as Answer;
    expect([again.meta?.source, cached.meta?.source]).toContain(AnswerSource.CACHE);
  });

  test("pagination and search work the same: STRONG pages of 1 document and 2 turns", async () => {
    for (const call of fallback) {
      for (const [method, request, field] of [
        ["listDocuments", { userId, pageSize: 1 }, "documents"],
        ["getConversationHistory", { conversationId, pageSize: 2 }, "turns"],
      ] as const) {
        const collected: unknown[] = [];
        let pageToken = "";
        do {
          const page = (await call.call(method, {
            ...request,
            pageToken,
            options: { consistency: ReadConsistency.STRONG },
          })) as Answer & { nextPageToken: string };
          collected.push(...(page[field] as unknown[]));
          pageToken = page.nextPageToken;
        } while (pageToken !== "");
        expect(collected).toHaveLength(field === "documents" ? 2 : 3);
      }
    }
  });

  test("the healthy path falls back never", async () => {
    for (const call of fallback) for (const [method, request] of reads()) await call.call(method, request);
    expect(await fallbacks()).toEqual({});
  });
});

describe("bounded consistency waits", () => {
  test("a token beyond anything written is INVALID_ARGUMENT at once (gRPC and Connect)", async () => {
    const forged = encodeToken({ transactionId: 9_000_000_000n, position: 9_000_000_000n });
    const huge = encodeToken({ transactionId: 10n ** 19n, position: 10n ** 19n });
    for (const call of [...fallback, ...bounded]) {
      for (const minConsistencyToken of [forged, huge]) {
        const started = performance.now();
        const code = await call.code("getUserProfile", { options: { minConsistencyToken }, userId });
        expect(`${call.name}: ${code}`).toBe(`${call.name}: INVALID_ARGUMENT`);
        // Not a wait: the bounded gateway would end it at 1.5 s with DEADLINE_EXCEEDED, the other fall back.
        expect(performance.now() - started).toBeLessThan(5_000);
      }
    }
  });
});

describe("the consistency role stopped", () => {
  const fromWriteModel: Record<string, Record<string, unknown>> = {};

  test("a token the views have not reached: without a fallback slot DEADLINE_EXCEEDED at QUERY_WAIT_MAX_MS; with one, the write model answers", async () => {
    const before = await fallbacks();
    await consistency?.kill("SIGTERM");
    consistency = undefined;
    await run(commands.call("updateUserProfile", { userId, displayName: "Offline" }, { token }));
    const minConsistencyToken = last;
    for (const call of bounded) {
      const started = performance.now();
      const code = await call.code("getUserProfile", { options: { minConsistencyToken }, userId }, null);
      const ms = performance.now() - started;
      expect(`${call.name}: ${code}`).toBe(`${call.name}: DEADLINE_EXCEEDED`);
      expect(ms).toBeGreaterThanOrEqual(1_400);
      expect(ms).toBeLessThan(6_000);
    }
    for (const call of fallback) {
      for (const [method, request] of reads()) {
        const started = performance.now();
        const r = (await call.call(method, { ...request, options: { minConsistencyToken } })) as Answer;
        expect(`${call.name} ${method}: ${r.meta?.source}`).toBe(
          `${call.name} ${method}: ${AnswerSource.WRITE_MODEL}`,
        );
        expect(performance.now() - started).toBeGreaterThanOrEqual(250);
        if (method === "getUserProfile")
          expect((r.profile as { displayName: string }).displayName).toBe("Offline");
      }
    }
    const counted = await fallbacks();
    for (const query of ["GetUserProfile", "ListFaceModels"]) {
      const key = `${query}/token_wait`;
      expect((counted[key] ?? 0) - (before[key] ?? 0)).toBe(2);
    }
  }, 30_000);

  test("once the read side has been silent for READ_FALLBACK_STALENESS_MS, every eventual read comes from the write model", async () => {
    const before = (await fallbacks())["GetUserStatistics/read_side_behind"] ?? 0;
    await Bun.sleep(2_200);
    for (const call of fallback) {
      for (const [method, request] of reads()) {
        const r = (await call.call(method, request)) as Answer;
        expect(`${call.name} ${method}: ${r.meta?.source}`).toBe(
          `${call.name} ${method}: ${AnswerSource.WRITE_MODEL}`,
        );
        expect(r.meta?.stalenessMs).toBe(0n);
        fromWriteModel[`${call.name} ${method}`] = withoutMeta(r);
      }
    }
    expect(((await fallbacks())["GetUserStatistics/read_side_behind"] ?? 0) - before).toBe(2);
  }, 30_000);

  test("the role back: the views answer again, and their answers equal the write model's", async () => {
    consistency = await stack.start("consistency");
    const deadline = Date.now() + 15_000;
    let source: AnswerSource | undefined;
    while (Date.now() < deadline) {
      source = ((await first().call("getUserProfile", { userId, options: { bypassCache: true } })) as Answer)
        .meta?.source;
      if (source === AnswerSource.VIEW) break;
      await Bun.sleep(100);
    }
    expect(source).toBe(AnswerSource.VIEW);
    for (const call of fallback) {
      for (const [method, request] of reads()) {
        const r = (await call.call(method, {
          ...request,
          options: { minConsistencyToken: last, bypassCache: true },
        })) as Answer;
        const where = `${call.name} ${method}`;
        expect(`${where}: ${r.meta?.source}`).toBe(`${where}: ${AnswerSource.VIEW}`);
        expect({ where, answer: withoutMeta(r) }).toEqual({ where, answer: fromWriteModel[where] ?? {} });
      }
    }
  }, 30_000);
});
