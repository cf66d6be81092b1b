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
  /** `clone_rpc_in_flight{service, method}`: calls started and not yet finished (open streams included). */
  readonly inFlight: Gauge<"service" | "method">;
}

/** Creates the RPC metrics on `registry`. */
export function createRpcMetrics(registry: Registry): RpcMetrics {
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
    }),
  };
}

/** What {@link metricsInterceptor} records into. */
export interface InterceptorMetrics {
  readonly rpc: RpcMetrics;
  readonly commands: CommandMetrics;
}

/**
 * An interceptor recording every call. Put it first in the list (outermost), so that calls refused by
 * authentication or validation are counted with their codes too.
 */
export function metricsInterceptor(metrics: InterceptorMetrics): Interceptor {
  return (next) => async (request, ctx) => {
    const started = performance.now();
    const labels = { service: ctx.service, method: ctx.method };
    metrics.rpc.inFlight.inc(labels);
    let recorded = false;
    const record = (code: string): void => {
      if (recorded) return;
      recorded = true;
      const seconds = secondsSince(started);
      metrics.rpc.inFlight.dec(labels);
      metrics.rpc.duration.observe({ ...labels, code }, seconds);
      if (ctx.service === CommandService.typeName) {
        metrics.commands.observe(ctx.method, code === "OK" ? "ok" : code, seconds);
      }
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
