/**
 * One trace per command and per query across the processes: gateway, worker, relay and consistency run as
 * child processes exporting OTLP/HTTP to a receiver this test starts on loopback; the test is the gRPC client,
 * with an in-memory exporter for its own CLIENT span, whose `traceparent` it sends in the call's metadata.
 * The spans must join up by trace id and parent span id from the client span to the view refresh, the batch
 * spans must be linked to the commands they served, log lines must carry the trace id, and each query's span
 * must say where its answer came from (`meta.source`).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { ReadConsistency } from "../gen/clone/v1/enums_pb";
import { QueryService } from "../gen/clone/v1/query_service_pb";
import {
  createTestStack,
  type OtlpReceiver,
  type ReceivedSpan,
  type RoleProcess,
  startOtlpReceiver,
  type TestStack,
} from "../testing";
import { inSpan, SpanKind, startTracing, type Tracing, traceparentOf } from ".";

const secret = "tracing-secret-0123456789abcdef";
let receiver: OtlpReceiver;
let stack: TestStack;
let worker: RoleProcess;
let commands: GrpcClient<typeof CommandService>;
let queries: GrpcClient<typeof QueryService>;
let token: string;
const exporter = new InMemorySpanExporter();
let tracing: Tracing | undefined;

beforeAll(async () => {
  receiver = startOtlpReceiver();
  stack = await createTestStack({
    AUTH_JWT_SECRET: secret,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: "100",
    WORKER_THREADS: "1",
    CONSISTENCY_THREADS: "1",
  });
  [worker] = await Promise.all([
    stack.start("worker", { LOG_LEVEL: "debug" }),
    stack.start("relay"),
    stack.start("consistency"),
  ]);
  const gateway = await stack.addresses(await stack.start("gateway"));
  commands = createGrpcClient(CommandService, gateway.grpc);
  queries = createGrpcClient(QueryService, gateway.grpc);
  token = await mintToken({ sub: "ops", role: "admin", secret });
  tracing = startTracing(undefined, "test-client", exporter);
}, 60_000);

afterAll(async () => {
  commands?.close();
  queries?.close();
  await tracing?.shutdown();
  await stack?.stop();
  await receiver?.stop();
});

/** Runs a call in a CLIENT span of the test and sends its context; returns the result and the span. */
async function traced<T>(name: string, call: (traceparent: string) => Promise<T>) {
  const result = await inSpan(name, { kind: SpanKind.CLIENT }, () => call(traceparentOf() as string));
  await tracing?.flush();
  const client = exporter.getFinishedSpans().find((s) => s.name === name) as ReadableSpan;
  return { result, client: { traceId: client.spanContext().traceId, spanId: client.spanContext().spanId } };
}

/** The one span of `trace` named `name` (by prefix) whose parent is `parent`. */
function child(spans: readonly ReceivedSpan[], parent: { traceId: string; spanId: string }, name: string) {
  const found = spans.filter(
    (s) => s.traceId === parent.traceId && s.parentSpanId === parent.spanId && s.name.startsWith(name),
  );
  expect(found.map((s) => s.name)).toEqual([expect.stringMatching(new RegExp(`^${name}`))]);
  return found[0] as ReceivedSpan;
}

describe("tracing across the processes", () => {
  let userId = "";
  let positionToken = "";

  test("a command's trace joins up from the client span to the consistency refresh", async () => {
    userId = crypto.randomUUID();
    const { result, client } = await traced("client CreateUser", (traceparent) =>
      commands.call(
        "createUser",
        { userId, email: `${userId}@example.com`, displayName: "Traced" },
        { token, metadata: { traceparent } },
      ),
    );
    positionToken = result.result?.consistencyToken ?? "";
    const mine = (spans: readonly ReceivedSpan[]) => spans.filter((s) => s.traceId === client.traceId);
    // user.created refreshes user_profile_view and user_statistics_view: a consistency.refresh span each.
    const spans = await receiver.waitFor(
      (all) => mine(all).filter((s) => s.name === "consistency.refresh").length >= 2,
    );

    const server = child(spans, client, "clone.v1.CommandService/CreateUser");
    expect(server.service).toBe("clone-gateway");
    const send = child(spans, server, "command.send CreateUser");
    const processed = child(spans, send, "command.process CreateUser");
    expect(processed.service).toBe("clone-worker");
    expect(processed.attributes["clone.command_id"]).toBe(result.result?.commandId);
    const reply = child(spans, processed, "command.reply");
    expect(reply.service).toBe("clone-worker");
    const applied = child(spans, processed, "command.apply");

    // The group commit: a batch span of its own, linked to the command's span (and back), with the write
    // statement under it.
    const batch = spans.find((s) => s.spanId === applied.links[0]?.spanId) as ReceivedSpan;
    expect(batch.name).toBe("command.batch");
    expect(batch.links).toContainEqual({ traceId: client.traceId, spanId: processed.spanId });
    expect(spans.some((s) => s.parentSpanId === batch.spanId && s.name === "db.write")).toBe(true);

    const published = child(spans, applied, "event.publish user.created");
    expect(published.service).toBe("clone-relay");
    const refreshes = mine(spans).filter((s) => s.name === "consistency.refresh");
    for (const refresh of refreshes) {
      expect(refresh.parentSpanId).toBe(published.spanId);
      expect(refresh.service).toBe("clone-consistency");
      const view = spans.find((s) => s.spanId === refresh.links[0]?.spanId);
      expect(view?.name).toBe("view.refresh");
    }
    expect(refreshes.map((s) => s.attributes["clone.view"]).sort()).toEqual([
      "user_profile_view",
      "user_statistics_view",
    ]);

    // The worker's log line of the command carries its trace id.
    const line = await worker.waitForLog(
      (l) => l.msg === "command applied" && l.commandId === result.result?.commandId,
    );
    expect(line.traceId).toBe(client.traceId);
  }, 30_000);

  test("a query's span says where the answer came from: view, cache, write model", async () => {
    const ask = (options: Record<string, unknown>) =>
      traced("client GetUserProfile", (traceparent) =>
        queries.call("getUserProfile", { userId, options }, { token, metadata: { traceparent } }),
      );
    const sources: string[] = [];
    for (const options of [
      { minConsistencyToken: positionToken, bypassCache: true },
      {},
      { consistency: ReadConsistency.STRONG },
    ]) {
      exporter.reset();
      const { client } = await ask(options);
      const spans = await receiver.waitFor((all) =>
        all.some((s) => s.traceId === client.traceId && s.name === "query GetUserProfile"),
      );
      const server = child(spans, client, "clone.v1.QueryService/GetUserProfile");
      sources.push(String(child(spans, server, "query GetUserProfile").attributes["meta.source"]));
    }
    expect(sources).toEqual(["VIEW", "CACHE", "WRITE_MODEL"]);
  }, 30_000);
});
