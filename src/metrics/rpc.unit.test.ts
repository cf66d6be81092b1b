import { describe, expect, test } from "bun:test";
import { AppError } from "../errors";
import { createCallContext } from "../gateway/call-context";
import type { CallResponse, MethodKind, Next } from "../gateway/handler";
import { applyInterceptors } from "../gateway/interceptors";
import { createMetrics } from "./create-metrics";
import { scrape } from "./metrics.testkit";
import { findSamples } from "./parse-exposition";
import { metricsInterceptor } from "./rpc";

const commandService = "clone.v1.CommandService";
const queryService = "clone.v1.QueryService";

function call(service: string, method: string, kind: MethodKind, deadline?: number) {
  return createCallContext({ service, method, kind, headers: new Map(), deadline });
}

function setup() {
  const metrics = createMetrics({ role: "test", defaultMetrics: false });
  const wrap = <O>(next: Next<unknown, O>) => applyInterceptors(next, [metricsInterceptor(metrics)]);
  const rpc = async (labels: Record<string, string>) => {
    const e = await scrape(metrics);
    return {
      count: findSamples(e, "clone_rpc_duration_seconds_count", labels)[0]?.value,
      sum: findSamples(e, "clone_rpc_duration_seconds_sum", labels)[0]?.value,
      inFlight: findSamples(e, "clone_rpc_in_flight", labels)[0]?.value,
      exposition: e,
    };
  };
  return { metrics, wrap, rpc };
}

/** A stream of `n` messages, one every `gapMs`; `fail` throws after them; records whether it was closed. */
function slowStream(n: number, gapMs: number, fail?: AppError) {
  const state = { closed: false };
  const stream: AsyncIterable<number> = {
    [Symbol.asyncIterator]() {
      let i = 0;
      return {
        async next() {
          await Bun.sleep(gapMs);
          if (i < n) return { done: false, value: i++ };
          if (fail) throw fail;
          return { done: true, value: undefined };
        },
        async return() {
          state.closed = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
  return { stream, state };
}

describe("metricsInterceptor: unary calls", () => {
  test("a successful call is recorded with code OK, and as a command for CommandService", async () => {
    const { wrap, rpc } = setup();
    const next = wrap(async (): Promise<CallResponse<string>> => {
      await Bun.sleep(20);
      return { kind: "unary", message: "done" };
    });
    const { ctx } = call(commandService, "CreateUser", "unary");
    expect(await next({}, ctx)).toEqual({ kind: "unary", message: "done" });
    const r = await rpc({ service: commandService, method: "CreateUser", code: "OK" });
    expect(r.count).toBe(1);
    expect(r.sum).toBeGreaterThanOrEqual(0.015);
    expect(findSamples(r.exposition, "clone_rpc_in_flight", { method: "CreateUser" })[0]?.value).toBe(0);
    expect(
      findSamples(r.exposition, "clone_command_duration_seconds_count", {
        command_type: "CreateUser",
        outcome: "ok",
      })[0]?.value,
    ).toBe(1);
    expect(findSamples(r.exposition, "clone_command_failures_total")).toEqual([]);
  });

  test("a failed call is recorded with its code, rethrown, and counted as a command failure", async () => {
    const { wrap, rpc } = setup();
    const next = wrap(async (): Promise<CallResponse<string>> => {
      throw new AppError("FAILED_PRECONDITION", "voice model is not trained");
    });
    const { ctx } = call(commandService, "StartConversation", "unary");
    await expect(next({}, ctx)).rejects.toThrow("voice model is not trained");
    const r = await rpc({ method: "StartConversation", code: "FAILED_PRECONDITION" });
    expect(r.count).toBe(1);
    const labels = { command_type: "StartConversation", code: "FAILED_PRECONDITION" };
    expect(findSamples(r.exposition, "clone_command_failures_total", labels)[0]?.value).toBe(1);
    expect(
      findSamples(r.exposition, "clone_command_duration_seconds_count", { outcome: "FAILED_PRECONDITION" })[0]
        ?.value,
    ).toBe(1);
  });

  test("a plain error is recorded as INTERNAL; other services are not commands", async () => {
    const { wrap, rpc } = setup();
    const next = wrap(async (): Promise<CallResponse<string>> => {
      throw new Error("boom");
    });
    const { ctx } = call(queryService, "GetUserProfile", "unary");
    await expect(next({}, ctx)).rejects.toThrow("boom");
    const r = await rpc({ service: queryService, method: "GetUserProfile", code: "INTERNAL" });
    expect(r.count).toBe(1);
    expect(findSamples(r.exposition, "clone_command_duration_seconds_count")).toEqual([]);
  });

  test("a call in progress is in flight", async () => {
    const { wrap, rpc } = setup();
    let release = () => {};
    const next = wrap(async (): Promise<CallResponse<string>> => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return { kind: "unary", message: "late" };
    });
    const { ctx } = call(queryService, "ListDocuments", "unary");
    const pending = next({}, ctx);
    await Bun.sleep(5);
    expect((await rpc({ method: "ListDocuments" })).inFlight).toBe(1);
    release();
    await pending;
    expect((await rpc({ method: "ListDocuments" })).inFlight).toBe(0);
  });
});

describe("metricsInterceptor: server streaming calls", () => {
  const method = "WatchConversation";

  test("is measured until the stream ends, not until it starts", async () => {
    const { wrap, rpc } = setup();
    const { stream } = slowStream(3, 15);
    const next = wrap(async (): Promise<CallResponse<number>> => ({ kind: "server_streaming", stream }));
    const { ctx } = call(queryService, method, "server_streaming");
    const response = await next({}, ctx);
    if (response.kind !== "server_streaming") throw new Error("expected a stream");
    expect((await rpc({ method })).count).toBeUndefined();
    expect((await rpc({ method })).inFlight).toBe(1);
    const received: number[] = [];
    for await (const m of response.stream) received.push(m);
    expect(received).toEqual([0, 1, 2]);
    const r = await rpc({ method, code: "OK" });
    expect(r.count).toBe(1);
    expect(r.sum).toBeGreaterThanOrEqual(0.05);
    expect((await rpc({ method })).inFlight).toBe(0);
  });

  test("a stream that fails is recorded with the error's code", async () => {
    const { wrap, rpc } = setup();
    const { stream } = slowStream(1, 1, new AppError("UNAVAILABLE", "NATS went away"));
    const next = wrap(async (): Promise<CallResponse<number>> => ({ kind: "server_streaming", stream }));
    const { ctx } = call(queryService, method, "server_streaming");
    const response = await next({}, ctx);
    if (response.kind !== "server_streaming") throw new Error("expected a stream");
    const consume = async () => {
      for await (const _ of response.stream) {
      }
    };
    await expect(consume()).rejects.toThrow("NATS went away");
    expect((await rpc({ method, code: "UNAVAILABLE" })).count).toBe(1);
  });

  test("a stream the client leaves is recorded as CANCELLED once, and closed at the source", async () => {
    const { wrap, rpc } = setup();
    const { stream, state } = slowStream(100, 1);
    const next = wrap(async (): Promise<CallResponse<number>> => ({ kind: "server_streaming", stream }));
    const managed = call(queryService, method, "server_streaming");
    const response = await next({}, managed.ctx);
    if (response.kind !== "server_streaming") throw new Error("expected a stream");
    for await (const m of response.stream) {
      if (m === 2) {
        managed.cancel();
        break;
      }
    }
    managed.dispose();
    expect(state.closed).toBe(true);
    const r = await rpc({ method });
    expect(findSamples(r.exposition, "clone_rpc_duration_seconds_count", { method })).toEqual([
      expect.objectContaining({ labels: expect.objectContaining({ code: "CANCELLED" }), value: 1 }),
    ]);
    expect(r.inFlight).toBe(0);
  });

  test("a stream refused before it starts is recorded with the refusal's code", async () => {
    const { wrap, rpc } = setup();
    const next = wrap(async (): Promise<CallResponse<number>> => {
      throw new AppError("UNAUTHENTICATED", "no token");
    });
    const { ctx } = call(queryService, method, "server_streaming");
    await expect(next({}, ctx)).rejects.toThrow("no token");
    expect((await rpc({ method, code: "UNAUTHENTICATED" })).count).toBe(1);
  });
});
