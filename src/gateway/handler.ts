/**
 * Transport-neutral RPC handler types.
 *
 * One implementation of a service (a map from protobuf-es `method.localName` to a handler) is served by every
 * transport: grpc-js over HTTP/2 (grpc-server.ts) and connect-node, gRPC-web and Connect over HTTP/1.1
 * (src/http). Handlers see decoded messages and a {@link CallContext}; they never touch grpc-js or HTTP types.
 * Cross-cutting concerns (auth, logging, metrics) are {@link Interceptor}s, in the style of connect-es, and run
 * around unary and streaming calls alike.
 */
import type {
  DescMethodServerStreaming,
  DescMethodUnary,
  DescService,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import type { Actor } from "../contracts";

/** The method kinds the gateway serves (client and bidi streaming are not used by the clone.v1 API). */
export type MethodKind = "unary" | "server_streaming";

/** What a handler and the interceptors know about the call, whatever the transport. */
export interface CallContext {
  /** Fully qualified service name, e.g. `clone.v1.CommandService`. */
  readonly service: string;
  /** RPC name as in the .proto, e.g. `CreateUser`. */
  readonly method: string;
  readonly kind: MethodKind;
  /** Request metadata with lower-cased keys; repeated values joined by ", "; binary (`-bin`) entries left out. */
  readonly headers: ReadonlyMap<string, string>;
  /** Aborted when the client cancels or the deadline passes; pass it to anything that waits. */
  readonly signal: AbortSignal;
  /** Epoch milliseconds after which the client no longer waits; undefined when it set no deadline. */
  readonly deadline: number | undefined;
  /** The authenticated caller; set by the auth interceptor, undefined for public services. */
  actor: Actor | undefined;
}

/** Answers one request with one response. */
export type UnaryHandler<I, O> = (request: I, ctx: CallContext) => Promise<O>;

/** Answers one request with a stream of responses; the stream ends the call when it ends. */
export type ServerStreamHandler<I, O> = (request: I, ctx: CallContext) => AsyncIterable<O>;

/** The response of a call as interceptors see it: one message, or a stream of them. */
export type CallResponse<O> =
  | { readonly kind: "unary"; readonly message: O }
  | { readonly kind: "server_streaming"; readonly stream: AsyncIterable<O> };

/**
 * The next step of a call, for interceptors. For a streaming call the promise resolves before the first
 * message is produced; an interceptor that must see the end of the stream (metrics) wraps `stream`.
 */
export type Next<I = unknown, O = unknown> = (request: I, ctx: CallContext) => Promise<CallResponse<O>>;

/**
 * Wraps every call, unary or streaming (connect-es style): `(next) => async (request, ctx) => next(request, ctx)`.
 * Generic in the messages, so an interceptor cannot depend on a particular request type; it may read and set
 * `ctx` (the auth interceptor sets `ctx.actor`), throw (any error becomes a status), or wrap the response.
 */
export type Interceptor = <I, O>(next: Next<I, O>) => Next<I, O>;

/** The handler type for one method descriptor; responses may be a message or its init shape. */
export type MethodImplementation<M> =
  M extends DescMethodUnary<infer I, infer O>
    ? UnaryHandler<MessageShape<I>, MessageInitShape<O>>
    : M extends DescMethodServerStreaming<infer I, infer O>
      ? ServerStreamHandler<MessageShape<I>, MessageInitShape<O>>
      : never;

/** A service implementation typed from its generated descriptor (connect-es `ServiceImpl`). */
export type ServiceImplementation<S extends DescService> = {
  [K in keyof S["method"]]: MethodImplementation<S["method"][K]>;
};

/** A handler with its message types erased, as transports hold them. */
export type AnyHandler = (request: never, ctx: CallContext) => Promise<unknown> | AsyncIterable<unknown>;

/** A service and its (possibly partial) implementation, ready for any transport. */
export interface ServiceRegistration {
  readonly service: DescService;
  /** Handlers by `method.localName`; methods without one answer UNIMPLEMENTED. */
  readonly implementation: Readonly<Record<string, AnyHandler | undefined>>;
}

/**
 * Pairs a descriptor with its implementation, checking the handler types against the descriptor, and erases
 * the types so that services of different shapes can go in one list.
 */
export function registerService<S extends DescService>(
  service: S,
  implementation: Partial<ServiceImplementation<S>>,
): ServiceRegistration {
  return { service, implementation: implementation as Record<string, AnyHandler | undefined> };
}
