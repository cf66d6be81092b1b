/**
 * Tracing in the embedded mode (every role in this process, in-process buses), with an in-memory exporter:
 * the command's trace runs from the client's span through the gateway and the group commit to the refresh of
 * the views its event touches (no relay publish in between: the refresh continues the command's span that the
 * event's metadata names), and the batch is linked to the command.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { type RunningEmbedded, startEmbedded } from "../embedded/start";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { createLogger } from "../logging";
import { embeddedTestConfig } from "../testing/embedded-config";
import { inSpan, SpanKind, startTracing, type Tracing, traceparentOf } from ".";

const secret = "embedded-tracing-0123456789abcdef";
const exporter = new InMemorySpanExporter();
let tracing: Tracing | undefined;
let embedded: RunningEmbedded;
let client: GrpcClient<typeof CommandService>;

beforeAll(async () => {
  tracing = startTracing(undefined, "all", exporter);
  const config = embeddedTestConfig({ AUTH_JWT_SECRET: secret });
  embedded = await startEmbedded(config, createLogger({ level: "warn", name: "embedded-tracing" }));
  client = createGrpcClient(CommandService, `127.0.0.1:${embedded.grpcPort}`);
}, 60_000);

afterAll(async () => {
  client?.close();
  await embedded?.stop();
  await tracing?.shutdown();
});

const idOf = (s: ReadableSpan) => s.spanContext().spanId;
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

describe("tracing in the embedded mode", () => {
  test("client span -> gateway -> command.apply -> consistency.refresh of both views, one trace", async () => {
    const userId = crypto.randomUUID();
    const token = await mintToken({ sub: userId, role: "user", secret });
    await inSpan("client CreateUser", { kind: SpanKind.CLIENT }, () =>
      client.call(
        "createUser",
        { userId, email: `${userId}@example.com`, displayName: "Embedded" },
        { token, metadata: { traceparent: traceparentOf() as string } },
      ),
    );
    let spans: ReadableSpan[] = [];
    const root = () => spans.find((s) => s.name === "client CreateUser") as ReadableSpan;
    for (let i = 0; i < 200; i++) {
      await tracing?.flush();
      spans = exporter.getFinishedSpans();
      const traceId = spans.find((s) => s.name === "client CreateUser")?.spanContext().traceId;
      const refreshed = spans.filter(
        (s) => s.name === "consistency.refresh" && s.spanContext().traceId === traceId,
      );
      if (refreshed.length >= 2) break;
      await Bun.sleep(25);
    }
    const trace = spans.filter((s) => s.spanContext().traceId === root().spanContext().traceId);
    const server = trace.find((s) => s.name === "clone.v1.CommandService/CreateUser") as ReadableSpan;
    expect(parentOf(server)).toBe(idOf(root()));
    const applied = trace.find((s) => s.name === "command.apply") as ReadableSpan;
    expect(parentOf(applied)).toBe(idOf(server));
    const batch = spans.find((s) => idOf(s) === applied.links[0]?.context.spanId);
    expect(batch?.name).toBe("command.batch");
    const refreshes = trace.filter((s) => s.name === "consistency.refresh");
    expect(refreshes.map((s) => s.attributes["clone.view"]).sort()).toEqual([
      "user_profile_view",
      "user_statistics_view",
    ]);
    for (const refresh of refreshes) expect(parentOf(refresh)).toBe(idOf(applied));
  }, 30_000);
});
