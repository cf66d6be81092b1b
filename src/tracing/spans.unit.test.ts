/**
 * The span helpers with an in-memory exporter, and the off path: with tracing off the wrappers pass their
 * input through untouched and no span or context is made. (Log lines' trace ids: tracing.e2e.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { traceBatches } from "../actors/traced-executor";
import type { CommandEnvelope, CommandOutcome } from "../contracts";
import {
  contextOf,
  inSpan,
  startBatchSpans,
  startTracing,
  type Tracing,
  traced,
  traceparentOf,
  tracingOn,
} from ".";

const envelope = (commandId: string, traceparent?: string): CommandEnvelope => ({
  commandId,
  commandType: "CreateUser",
  aggregateType: "user",
  aggregateId: crypto.randomUUID(),
  payloadHash: "h",
  payload: {},
  actor: { sub: "s", role: "admin" },
  issuedAt: 0,
  ...(traceparent === undefined ? {} : { traceparent }),
});

const ok = (commandId: string): CommandOutcome => ({
  ok: true,
  result: { commandId, aggregateId: "a", version: 1, events: [], position: "", duplicate: false },
});

describe("tracing off (the default)", () => {
  test("no span, no header, the batch passed through as it is", async () => {
    expect(tracingOn()).toBe(false);
    const batch = [envelope("c1")];
    let seen: readonly CommandEnvelope[] | undefined;
    await traceBatches(async (b) => {
      seen = b;
      return b.map((e) => ok(e.commandId));
    })(batch);
    expect(seen).toBe(batch);
    expect(await traced("db.write", {}, async () => traceparentOf())).toBeUndefined();
  });
});

describe("tracing on, in-memory exporter", () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing | undefined;
  beforeAll(() => {
    tracing = startTracing(undefined, "unit", exporter);
  });
  afterAll(() => tracing?.shutdown());

  test("a remote parent's traceparent is continued; the active span is the parent of nested work", async () => {
    const remote = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    await inSpan("outer", { parent: remote }, () => traced("inner", {}, async () => {}));
    await tracing?.flush();
    const [inner, outer] = exporter.getFinishedSpans();
    expect(outer?.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(outer?.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
    expect(inner?.parentSpanContext?.spanId).toBe(outer?.spanContext().spanId);
    expect(traceparentOf(contextOf("garbage"))).toBeUndefined();
  });

  test("a batch span is linked to each item's parent, each item span is its parent's child linked back", async () => {
    exporter.reset();
    const parents = [
      "00-11111111111111111111111111111111-1111111111111111-01",
      "00-22222222222222222222222222222222-2222222222222222-01",
    ];
    const spans = startBatchSpans("command.batch", "command.apply", parents);
    spans.end((i) => (i === 1 ? "ABORTED" : undefined));
    await tracing?.flush();
    const finished = exporter.getFinishedSpans();
    const batch = finished.find((s) => s.name === "command.batch");
    const items = finished.filter((s) => s.name === "command.apply");
    expect(batch?.parentSpanContext).toBeUndefined();
    expect(batch?.links.map((l) => l.context.spanId)).toEqual(["1111111111111111", "2222222222222222"]);
    expect(items.map((s) => s.spanContext().traceId)).toEqual([
      "11111111111111111111111111111111",
      "22222222222222222222222222222222",
    ]);
    for (const item of items) expect(item.links[0]?.context.spanId).toBe(batch?.spanContext().spanId);
    expect(items.map((s) => s.status.code)).toEqual([0, 2]);
  });

  test("the executor wrapper hands each command its own span's context, under the batch span", async () => {
    exporter.reset();
    const parent = "00-33333333333333333333333333333333-3333333333333333-01";
    let seen: readonly CommandEnvelope[] = [];
    await traceBatches(async (b) => {
      seen = b;
      await traced("db.write", {}, async () => {});
      return b.map((e) => ok(e.commandId));
    })([envelope("c1", parent), envelope("c2")]);
    await tracing?.flush();
    const finished = exporter.getFinishedSpans();
    const applied = finished.filter((s) => s.name === "command.apply");
    expect(seen.map((e) => e.traceparent)).toEqual(
      applied.map((s) => `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01`),
    );
    expect(applied[0]?.parentSpanContext?.spanId).toBe("3333333333333333");
    const batch = finished.find((s) => s.name === "command.batch");
    expect(finished.find((s) => s.name === "db.write")?.parentSpanContext?.spanId).toBe(
      batch?.spanContext().spanId,
    );
  });
});
