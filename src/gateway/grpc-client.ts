/**
 * A small promise-based grpc-js client built from a protobuf-es service descriptor, for e2e tests and the
 * admin CLI: `client.call("createUser", request, { token })` and `for await (const m of client.stream(...))`.
 * Failed calls reject with the grpc-js `ServiceError` (`code`, `details`, `metadata`); decode its
 * `grpc-status-details-bin` trailer with `parseStatusDetails`.
 */
import {
  create,
  type DescMessage,
  type DescService,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import {
  type CallOptions,
  type ChannelCredentials,
  Client,
  type ClientOptions,
  type ClientReadableStream,
  credentials as grpcCredentials,
  Metadata,
  type MethodDefinition,
} from "@grpc/grpc-js";
import { readStream } from "./grpc-client-stream";
import { grpcMethodDefinition } from "./grpc-definition";

/** Per-call options. */
export interface GrpcCallOptions {
  /** Extra metadata; a plain object is converted. */
  readonly metadata?: Metadata | Readonly<Record<string, string>>;
  /** Sent as `authorization: Bearer <token>`. */
  readonly token?: string;
  /** Epoch milliseconds or a Date; the call fails with DEADLINE_EXCEEDED after it. */
  readonly deadline?: number | Date;
  /** Cancels the call (CANCELLED). */
  readonly signal?: AbortSignal;
}

type Methods<S extends DescService> = S["method"];

/** Local names of the methods of `S` of the given kind. */
export type MethodNameOfKind<S extends DescService, Kind extends string> = {
  [K in keyof Methods<S>]: Methods<S>[K] extends { readonly methodKind: Kind } ? K : never;
}[keyof Methods<S>] &
  string;

type InputOf<S extends DescService, K extends keyof Methods<S>> = Methods<S>[K] extends {
  readonly input: infer I extends DescMessage;
}
  ? I
  : never;

type OutputOf<S extends DescService, K extends keyof Methods<S>> = Methods<S>[K] extends {
  readonly output: infer O extends DescMessage;
}
  ? O
  : never;

/** A typed client of one service. */
export interface GrpcClient<S extends DescService> {
  /** Calls a unary method; rejects with a grpc-js `ServiceError`. */
  call<K extends MethodNameOfKind<S, "unary">>(
    method: K,
    request: MessageInitShape<InputOf<S, K>>,
    options?: GrpcCallOptions,
  ): Promise<MessageShape<OutputOf<S, K>>>;
  /** Calls a server-streaming method; leaving the loop early cancels the call. */
  stream<K extends MethodNameOfKind<S, "server_streaming">>(
    method: K,
    request: MessageInitShape<InputOf<S, K>>,
    options?: GrpcCallOptions,
  ): AsyncIterable<MessageShape<OutputOf<S, K>>>;
  /** Closes the channel. */
  close(): void;
  /** The underlying grpc-js client. */
  readonly raw: Client;
}

/** Options of {@link createGrpcClient}. */
export interface GrpcClientOptions {
  /** Default: insecure (plain-text HTTP/2). */
  readonly credentials?: ChannelCredentials;
  /** grpc-js channel options, e.g. `grpc.max_receive_message_length`. */
  readonly channelOptions?: ClientOptions;
}

/** Creates a client of `service` at `address` (`host:port`). */
export function createGrpcClient<S extends DescService>(
  service: S,
  address: string,
  options: GrpcClientOptions = {},
): GrpcClient<S> {
  const raw = new Client(
    address,
    options.credentials ?? grpcCredentials.createInsecure(),
    options.channelOptions,
  );
  const prepared = new Map<string, PreparedMethod>();
  const prepare = (localName: string, init: unknown): PreparedMethod & { request: unknown } => {
    let entry = prepared.get(localName);
    if (entry === undefined) {
      const method = service.methods.find((m) => m.localName === localName);
      if (method === undefined) throw new Error(`${service.typeName} has no method ${localName}`);
      entry = {
        input: method.input,
        def: grpcMethodDefinition(method) as MethodDefinition<unknown, unknown>,
      };
      prepared.set(localName, entry);
    }
    return { ...entry, request: create(entry.input, init as Record<string, unknown>) };
  };
  return {
    raw,
    close: () => raw.close(),
    call(method, request, callOptions = {}) {
      const { def, request: message } = prepare(method, request);
      return new Promise((resolve, reject) => {
        const call = raw.makeUnaryRequest(
          def.path,
          def.requestSerialize,
          def.responseDeserialize,
          message,
          toMetadata(callOptions),
          toCallOptions(callOptions),
          (error, response) => (error ? reject(error) : resolve(response as never)),
        );
        callOptions.signal?.addEventListener("abort", () => call.cancel(), { once: true });
      });
    },
    stream(method, request, callOptions = {}) {
      const { def, request: message } = prepare(method, request);
      const start = (): ClientReadableStream<unknown> =>
        raw.makeServerStreamRequest(
          def.path,
          def.requestSerialize,
          def.responseDeserialize,
          message,
          toMetadata(callOptions),
          toCallOptions(callOptions),
        );
      return readStream(start, callOptions.signal) as AsyncIterable<never>;
    },
  };
}

interface PreparedMethod {
  readonly input: DescMessage;
  readonly def: MethodDefinition<unknown, unknown>;
}

function toMetadata(options: GrpcCallOptions): Metadata {
  const metadata = options.metadata instanceof Metadata ? options.metadata.clone() : new Metadata();
  if (options.metadata !== undefined && !(options.metadata instanceof Metadata)) {
    for (const [key, value] of Object.entries(options.metadata)) metadata.set(key, value);
  }
  if (options.token !== undefined) metadata.set("authorization", `Bearer ${options.token}`);
  return metadata;
}

function toCallOptions(options: GrpcCallOptions): CallOptions {
  return options.deadline === undefined ? {} : { deadline: options.deadline };
}
