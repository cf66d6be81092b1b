/**
 * The SERVER span of each call, while tracing is on: a child of the client's span when the call's metadata
 * carries a W3C `traceparent`, else the root of a new trace. What the handler does (a command's send, a
 * query) runs in it. A streaming call's span lasts until its stream ends.
 */
import { AppError } from "../errors";
import { contextWith, endSpan, SpanKind, startSpan, TRACEPARENT, tracingOn, withContext } from "../tracing";
import type { CallContext, CallResponse, Interceptor, Next } from "./handler";
import { mapStream } from "./interceptors";

/**
 * Traces every call; with tracing off it only checks that it is off, and hands the call on without a layer
 * of its own (no async wrapper: one less promise and its ticks on every call).
 */
export function tracingInterceptor(): Interceptor {
  return (next) => (request, ctx) => (tracingOn() ? traced(next, request, ctx) : next(request, ctx));
}

async function traced<I, O>(next: Next<I, O>, request: I, ctx: CallContext): Promise<CallResponse<O>> {
  const parent = ctx.headers.get(TRACEPARENT);
  const span = startSpan(`${ctx.service}/${ctx.method}`, {
    kind: SpanKind.SERVER,
    parent,
    attributes: { "rpc.system": "grpc", "rpc.service": ctx.service, "rpc.method": ctx.method },
  });
  let response: CallResponse<O>;
  try {
    response = await withContext(contextWith(span, parent), () => next(request, ctx));
  } catch (error) {
    span.setAttribute("rpc.grpc.status_code", AppError.from(error).code);
    endSpan(span, error);
    throw error;
  }
  if (response.kind === "unary") {
    endSpan(span);
    return response;
  }
  return {
    kind: "server_streaming",
    stream: mapStream(
      response.stream,
      (message) => message,
      (error) => endSpan(span, error),
    ),
  };
}
