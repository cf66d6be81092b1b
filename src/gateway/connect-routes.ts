/**
 * Serves transport-neutral service implementations through connect-es (the Connect protocol and gRPC-web,
 * and gRPC too when the adapter is mounted on HTTP/2): the same handlers and interceptor chain as the grpc-js
 * server, only the transport differs.
 *
 * Each call gets a {@link CallContext} built from connect's `HandlerContext` (request headers, the deadline
 * from `timeoutMs()`, a signal aborted when the client goes away), runs through {@link createMethodInvoker},
 * and every error leaves as a `ConnectError` with the code and message the grpc-js server would send, field
 * violations as a `google.rpc.BadRequest` detail (`grpc-status-details-bin` for gRPC-web).
 */
import type { DescMethod, DescService, Message } from "@bufbuild/protobuf";
import {
  Code as ConnectCode,
  ConnectError,
  type ConnectRouter,
  createContextKey,
  type HandlerContext,
} from "@connectrpc/connect";
import { AppError, Code } from "../errors";
import { BadRequestSchema } from "../gen/google/rpc/error_details_pb";
import { callError, createCallContext, type ManagedCallContext } from "./call-context";
import { type ErrorOrigin, type GatewayLogger, toPublicError } from "./error-status";
import type { Interceptor, MethodKind, Next, ServiceRegistration } from "./handler";
import { createMethodInvoker } from "./interceptors";
import { oversizedRequest, undecodableRequest } from "./request-rules";

/** Options of {@link connectRoutes}. */
export interface ConnectRoutesOptions {
  readonly services: readonly ServiceRegistration[];
  /** Applied to every call, first = outermost; pass the grpc-js server's list. */
  readonly interceptors?: readonly Interceptor[];
  readonly log?: GatewayLogger;
}

type AnyConnectImpl = (
  request: Message,
  context: HandlerContext,
) => Promise<Message> | AsyncIterable<Message>;

/**
 * The routes for `connectNodeAdapter({ routes })`: every unary and server-streaming method of the services
 * (client and bidi streaming are not served over HTTP/1.1 anyway).
 */
export function connectRoutes(options: ConnectRoutesOptions): (router: ConnectRouter) => void {
  return (router) => {
    for (const { service, implementation } of options.services) {
      const impl: Record<string, AnyConnectImpl> = {};
      for (const method of service.methods) {
        if (method.methodKind !== "unary" && method.methodKind !== "server_streaming") continue;
        const invoke = createMethodInvoker(
          method,
          implementation[method.localName],
          options.interceptors ?? [],
        );
        impl[method.localName] =
          method.methodKind === "unary"
            ? unaryImpl(method, invoke, options.log)
            : serverStreamingImpl(method, invoke, options.log);
      }
      router.service(service as DescService, impl as never);
    }
  };
}

/** Per call: whether the request reached the implementation (see {@link requestErrorGate}). */
const callState = createContextKey<{ entered: boolean } | undefined>(undefined);

function unaryImpl(method: DescMethod, invoke: Next<Message, Message>, log?: GatewayLogger): AnyConnectImpl {
  return async (request, context) => {
    entered(context);
    const managed = startCall(method, "unary", context);
    const { ctx } = managed;
    try {
      const response = await invoke(request, ctx);
      if (response.kind !== "unary") throw new AppError("INTERNAL", "a unary call produced a stream");
      return response.message;
    } catch (error) {
      throw toConnectError(callError(error, ctx), log, ctx);
    } finally {
      managed.finish();
    }
  };
}

/**
 * A stream that starts the call on the first `next()`. Not an async generator: `return()` must reach the
 * handler's iterator at once, even while its `next()` waits for live data (see `mapStream`).
 */
function serverStreamingImpl(
  method: DescMethod,
  invoke: Next<Message, Message>,
  log?: GatewayLogger,
): AnyConnectImpl {
  return (request, context) => ({
    [Symbol.asyncIterator](): AsyncIterator<Message> {
      entered(context);
      const managed = startCall(method, "server_streaming", context);
      const { ctx } = managed;
      let inner: AsyncIterator<Message> | undefined;
      const fail = (error: unknown): never => {
        managed.finish();
        throw toConnectError(callError(error, ctx), log, ctx);
      };
      const close = (): void => {
        void Promise.resolve()
          .then(() => inner?.return?.())
          .catch(() => {});
      };
      ctx.signal.addEventListener("abort", close, { once: true });
      return {
        async next() {
          try {
            if (inner === undefined) {
              const response = await invoke(request, ctx);
              if (response.kind !== "server_streaming")
                throw new AppError("INTERNAL", "a streaming call produced one message");
              inner = response.stream[Symbol.asyncIterator]();
            }
            const result = await inner.next();
            if (result.done) {
              managed.finish();
              return { done: true, value: undefined };
            }
            if (ctx.signal.aborted) throw ctx.signal.reason;
            return { done: false, value: result.value };
          } catch (error) {
            return fail(error);
          }
        },
        async return() {
          managed.finish();
          close();
          return { done: true, value: undefined };
        },
      };
    },
  });
}

function entered(context: HandlerContext): void {
  const state = context.values.get(callState);
  if (state) state.entered = true;
}

/**
 * The `requestGate` of the connect adapter: makes connect's own answers to a request it could not read those
 * of the grpc-js port. connect-es 2.3 answers a binary body that does not decode with INTERNAL (HTTP 500), a
 * missing or extra message with UNIMPLEMENTED and a body over `readMaxBytes` with RESOURCE_EXHAUSTED (HTTP
 * 429), each in its own words and without a `google.rpc.BadRequest`. It has no hook for these errors, but
 * every protocol handler aborts the call's context with the error before it writes it (the Connect unary
 * handler's catch, the streaming handlers' `transformCatchFinally`). The gate, which runs first on every call,
 * listens for that abort: an error raised before the request reached the implementation is rewritten in place
 * into INVALID_ARGUMENT with the message and BadRequest the grpc-js port sends for the same bytes. Deadline,
 * cancellation and shutdown keep their codes. Tested end to end in src/http/bad-input.e2e.test.ts.
 */
export function requestErrorGate(maxRequestBytes: number): (context: HandlerContext) => void {
  return (context) => {
    const state = { entered: false };
    context.values.set(callState, state);
    const onAbort = (): void => {
      const error: unknown = context.signal.reason;
      if (state.entered || !(error instanceof ConnectError)) return;
      const replacement = requestError(error, context.method, maxRequestBytes);
      if (replacement === undefined) return;
      const mapped = toConnectError(replacement);
      Object.assign(error, {
        code: mapped.code,
        rawMessage: mapped.rawMessage,
        message: mapped.message,
        details: mapped.details,
      });
    };
    context.signal.addEventListener("abort", onAbort, { once: true });
  };
}

/** What the client is told for an error connect raised while reading the request; undefined: leave it. */
function requestError(
  error: ConnectError,
  method: DescMethod,
  maxRequestBytes: number,
): AppError | undefined {
  switch (error.code) {
    case ConnectCode.ResourceExhausted:
      return oversizedRequest(maxRequestBytes);
    case ConnectCode.Internal:
    case ConnectCode.InvalidArgument:
      return undecodableRequest(method.input, error.rawMessage);
    case ConnectCode.Unimplemented:
      // A missing or extra message; an unsupported compression stays UNIMPLEMENTED, as on grpc-js.
      return error.rawMessage.startsWith("protocol error")
        ? undecodableRequest(method.input, error.rawMessage)
        : undefined;
    default:
      return undefined;
  }
}

/** The CallContext of a connect call; cancelled when connect aborts its signal before the call finished. */
function startCall(
  method: DescMethod,
  kind: MethodKind,
  context: HandlerContext,
): ManagedCallContext & { finish(): void } {
  const timeoutMs = context.timeoutMs();
  const managed = createCallContext({
    service: method.parent.typeName,
    method: method.name,
    kind,
    headers: headersToMap(context.requestHeader),
    deadline: timeoutMs === undefined ? undefined : Date.now() + timeoutMs,
  });
  let finished = false;
  // connect aborts its signal on a client disconnect, at the deadline, and also once the call completed.
  // The HTTP server aborts with UNAVAILABLE when it shuts down; anything else is the client leaving.
  const reasonOf = (): AppError | undefined => {
    const r = context.signal.reason;
    return r instanceof ConnectError && r.code === ConnectCode.Unavailable
      ? new AppError("UNAVAILABLE", "the server is shutting down")
      : undefined;
  };
  const onAbort = (): void => {
    if (!finished) managed.cancel(reasonOf());
  };
  if (context.signal.aborted) managed.cancel(reasonOf());
  else context.signal.addEventListener("abort", onAbort, { once: true });
  return {
    ...managed,
    finish() {
      if (finished) return;
      finished = true;
      context.signal.removeEventListener("abort", onAbort);
      managed.dispose();
    },
  };
}

/** Request headers as the CallContext wants them: lower-cased keys, binary (`-bin`) entries left out. */
export function headersToMap(headers: Headers): ReadonlyMap<string, string> {
  const map = new Map<string, string>();
  headers.forEach((value, key) => {
    if (!key.endsWith("-bin")) map.set(key.toLowerCase(), value);
  });
  return map;
}

/**
 * The `ConnectError` for anything thrown: the same code and message as {@link toGrpcStatus} (internal errors
 * logged and hidden), and field violations as one `google.rpc.BadRequest` detail.
 */
export function toConnectError(error: unknown, log?: GatewayLogger, origin?: ErrorOrigin): ConnectError {
  const { code, message, violations } = toPublicError(error, log, origin);
  const details =
    violations.length === 0
      ? []
      : [
          {
            desc: BadRequestSchema,
            value: {
              fieldViolations: violations.map((v) => ({ field: v.field, description: v.description })),
            },
          },
        ];
  // connect's Code has the numeric values of gRPC's codes; OK never reaches here.
  return new ConnectError(message, Code[code] as number as ConnectCode, undefined, details);
}
