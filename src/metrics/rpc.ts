/**
 * gRPC server metrics, recorded by {@link metricsInterceptor} around every call: duration by service, method
 * and status code, and the calls in flight. Streaming calls are measured until the stream ends (or fails, or
 * the client leaves). CommandService calls are also recorded as commands, end to end at the gateway.
 */
import { Gauge, Histogram, type Registry } from "prom-client";
import { AppError } from "../errors";
import type { CallContext, Interceptor } from "../gateway/handler";
import { mapStream } from "../gateway/interceptors";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { latencyBuckets } from "./buckets";
import { type CommandMetrics, errorCode, secondsSince } from "./commands";

/** RPC metrics. */
export interface RpcMetrics {
  /** `clone_rpc_duration_seconds{service, method, code}`; `code` is `OK` or a gRPC code name. */
  readonly duration: Histogram<"service" | "method" | "code">;
  /**
   * `clone_rpc_in_flight{service, method}`: calls started and not yet finished (open streams included). Read
   * from {@link RpcMetrics.inFlightOf}'s counters when scraped.
   */
  readonly inFlight: Gauge<"service" | "method">;
  /** The in-flight counter of one method (the same object for every call of it): add 1 at start, -1 at the end. */
  inFlightOf(service: string, method: string): InFlightCounter;
}

/** Calls of one method in progress; a plain number, so a call costs no gauge update. */
export interface InFlightCounter {
  count: number;
}

/** Creates the RPC metrics on `registry`. */
export function createRpcMetrics(registry: Registry): RpcMetrics {
  const counters = new Map<
    string,
    InFlightCounter & { readonly labels: { service: string; method: string } }
  >();
  return {
    duration: new Histogram({
      name: "clone_rpc_duration_seconds",
      help: "gRPC calls served by the gateway, until the response (or the end of the stream), by status code.",
      labelNames: ["service", "method", "code"],
      buckets: [...latencyBuckets],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: "clone_rpc_in_flight",
      help: "gRPC calls in progress (server streams until they end).",
      labelNames: ["service", "method"],
      registers: [registry],
      collect() {
        for (const { labels, count } of counters.values()) this.set(labels, count);
      },
    }),
    inFlightOf(service, method) {
      const key = `${service}/${method}`;
      let counter = counters.get(key);
      if (counter === undefined) {
        counter = { labels: { service, method }, count: 0 };
        counters.set(key, counter);
      }
      return counter;
    },
  };
}

/** What {@link metricsInterceptor} records into. */
export interface InterceptorMetrics {
  readonly rpc: RpcMetrics;
  readonly commands: CommandMetrics;
}

/** What the interceptor keeps per method: its in-flight counter, and its label sets by code. */
interface MethodRecorder {
  readonly inFlight: InFlightCounter;
  readonly isCommand: boolean;
  readonly labels: Map<string, { service: string; method: string; code: string }>;
}

/**
 * An interceptor recording every call. Put it first in the list (outermost), so that calls refused by
 * authentication or validation are counted with their codes too.
 */
export function metricsInterceptor(metrics: InterceptorMetrics): Interceptor {
  const recorders = new Map<string, MethodRecorder>();
  const recorderOf = (ctx: CallContext): MethodRecorder => {
    const key = `${ctx.service}/${ctx.method}`;
    let recorder = recorders.get(key);
    if (recorder === undefined) {
      recorder = {
        inFlight: metrics.rpc.inFlightOf(ctx.service, ctx.method),
        isCommand: ctx.service === CommandService.typeName,
        labels: new Map(),
      };
      recorders.set(key, recorder);
    }
    return recorder;
  };
  return (next) => async (request, ctx) => {
    const started = performance.now();
    const recorder = recorderOf(ctx);
    recorder.inFlight.count += 1;
    let recorded = false;
    const record = (code: string): void => {
      if (recorded) return;
      recorded = true;
      const seconds = secondsSince(started);
      recorder.inFlight.count -= 1;
      let labels = recorder.labels.get(code);
      if (labels === undefined) {
        labels = { service: ctx.service, method: ctx.method, code };
        recorder.labels.set(code, labels);
      }
      metrics.rpc.duration.observe(labels, seconds);
      if (recorder.isCommand) metrics.commands.observe(ctx.method, code === "OK" ? "ok" : code, seconds);
    };
    let response: Awaited<ReturnType<typeof next>>;
    try {
      response = await next(request, ctx);
    } catch (error) {
      record(errorCode(error));
      throw error;
    }
    if (response.kind === "unary") {
      record("OK");
      return response;
    }
    const stream = mapStream(
      response.stream,
      (message) => message,
      (error) => record(error === undefined ? endCode(ctx) : errorCode(error)),
    );
    return { kind: "server_streaming", stream };
  };
}

/** The code of a stream that ended without an error: OK, or why the call was cut short. */
function endCode(ctx: CallContext): string {
  if (!ctx.signal.aborted) return "OK";
  const reason: unknown = ctx.signal.reason;
  return reason instanceof AppError ? reason.code : "CANCELLED";
}
