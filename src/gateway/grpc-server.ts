/**
 * Serves transport-neutral service implementations over grpc-js (HTTP/2).
 *
 * Each call becomes a {@link CallContext} (metadata as headers, the deadline, a signal aborted on cancel or at
 * the deadline), runs through the interceptors and the handler, and every error becomes a status through
 * {@link toGrpcStatus}. Requests that do not decode, do not decompress or are too large are INVALID_ARGUMENT, before
 * the interceptors.
 */
import type { DescMethod, Message } from "@bufbuild/protobuf";
import {
  status as grpcStatus,
  type handleServerStreamingCall,
  type handleUnaryCall,
  Metadata,
  Server,
  ServerCredentials,
  type StatusObject,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { AppError } from "../errors";
import { callError, createCallContext, type ManagedCallContext } from "./call-context";
import { type GatewayLogger, toGrpcStatus } from "./error-status";
import { answerUndecompressableAsInvalid } from "./grpc-decompression";
import { DecodeFailure, grpcServiceDefinition, isServedKind, metadataToHeaders } from "./grpc-definition";
import { writeStream } from "./grpc-stream";
import type { CallResponse, Interceptor, MethodKind, Next, ServiceRegistration } from "./handler";
import { createMethodInvoker } from "./interceptors";

/** Options of {@link createGrpcServer}. */
export interface GrpcServerOptions {
  readonly services: readonly ServiceRegistration[];
  /** Applied to every call, first = outermost. */
  readonly interceptors?: readonly Interceptor[];
  /**
   * Larger requests are answered INVALID_ARGUMENT (as on the HTTP port). Those over twice this are refused by
   * grpc-js itself from their length prefix, unread (RESOURCE_EXHAUSTED): what one call can make the server
   * buffer stays bounded.
   */
  readonly maxReceiveMessageBytes: number;
  /** Larger responses fail with RESOURCE_EXHAUSTED; defaults to `maxReceiveMessageBytes`. */
  readonly maxSendMessageBytes?: number;
  readonly log?: GatewayLogger;
}

/** Creates a grpc-js server (not yet bound) serving the given implementations. */
export function createGrpcServer(options: GrpcServerOptions): Server {
  answerUndecompressableAsInvalid();
  const server = new Server({
    "grpc.max_receive_message_length": 2 * options.maxReceiveMessageBytes,
    "grpc.max_send_message_length": options.maxSendMessageBytes ?? options.maxReceiveMessageBytes,
    // No channelz service is served, so its per-call and per-session bookkeeping is work nobody reads
    // (grpc-js keeps it by default: its channelz stream handler showed in the gateway's profile at load).
    "grpc.enable_channelz": 0,
  });
  for (const { service, implementation } of options.services) {
    const handlers: UntypedServiceImplementation = {};
    for (const method of service.methods) {
      const handler = implementation[method.localName];
      if (!isServedKind(method)) {
        if (handler !== undefined) {
          throw new Error(
            `${service.typeName}.${method.name}: ${method.methodKind} methods are not supported`,
          );
        }
        continue;
      }
      const invoke = createMethodInvoker(method, handler, options.interceptors ?? []);
      handlers[method.localName] =
        method.methodKind === "unary"
          ? unaryCall(method, invoke, options.log)
          : serverStreamingCall(method, invoke, options.log);
    }
    server.addService(grpcServiceDefinition(service, options.maxReceiveMessageBytes), handlers);
  }
  return server;
}

function unaryCall(
  method: DescMethod,
  invoke: Next<Message, Message>,
  log: GatewayLogger | undefined,
): handleUnaryCall<Message, Message> {
  return (call, callback) => {
    const managed = startCall(method, "unary", call);
    const { ctx } = managed;
    const reply = (error: StatusObject | null, message?: Message): void => {
      managed.dispose();
      try {
        callback(error, message);
      } catch (replyError) {
        log?.error({ err: replyError, service: ctx.service, method: ctx.method }, "rpc reply");
      }
    };
    const fail = (error: unknown): void => {
      let status: StatusObject;
      try {
        status = toGrpcStatus(callError(error, ctx), log, ctx);
      } catch (mappingError) {
        log?.error({ err: mappingError, service: ctx.service, method: ctx.method }, "rpc reply");
        status = { code: grpcStatus.INTERNAL, details: "internal error", metadata: new Metadata() };
      }
      reply(status);
    };
    let response: Promise<CallResponse<Message>>;
    try {
      response = invoke(decodedRequest(call.request), ctx);
    } catch (error) {
      fail(error);
      return;
    }
    response.then((r) => {
      if (r.kind === "unary") reply(null, r.message);
      else fail(new AppError("INTERNAL", "a unary call produced a stream"));
    }, fail);
  };
}

function serverStreamingCall(
  method: DescMethod,
  invoke: Next<Message, Message>,
  log: GatewayLogger | undefined,
): handleServerStreamingCall<Message, Message> {
  return (call) => {
    const managed = startCall(method, "server_streaming", call);
    const { ctx } = managed;
    const run = async (): Promise<void> => {
      const response = await invoke(decodedRequest(call.request), ctx);
      if (response.kind !== "server_streaming")
        throw new AppError("INTERNAL", "a streaming call produced one message");
      await writeStream(call, response.stream, ctx.signal);
      if (!ctx.signal.aborted) call.end();
    };
    run()
      .catch((error: unknown) => {
        // After a cancel or deadline grpc-js has already sent the status; this is then ignored.
        call.emit("error", toGrpcStatus(callError(error, ctx), log, ctx));
      })
      .finally(managed.dispose);
  };
}

/** What {@link startCall} needs of a grpc-js server call, unary or streaming. */
interface IncomingCall {
  readonly metadata: Metadata;
  getDeadline(): Date | number;
  on(event: "cancelled", listener: () => void): unknown;
}

/** The CallContext of an incoming call, aborted when grpc-js reports the call cancelled. */
function startCall(method: DescMethod, kind: MethodKind, call: IncomingCall): ManagedCallContext {
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  const managed = createCallContext({
    service: method.parent.typeName,
    method: method.name,
    kind,
    headers: metadataToHeaders(call.metadata),
    deadline: Number.isFinite(deadlineMs) ? deadlineMs : undefined,
  });
  call.on("cancelled", managed.cancel);
  return managed;
}

function decodedRequest(request: Message | DecodeFailure): Message {
  if (request instanceof DecodeFailure) throw request.error;
  return request;
}

/** Binds the server without TLS; resolves with the bound port (port 0 picks a free one). */
export function bindGrpcServer(server: Server, host: string, port: number): Promise<number> {
  const address = host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(address, ServerCredentials.createInsecure(), (error, boundPort) => {
      if (error) reject(error);
      else resolve(boundPort);
    });
  });
}

/** Stops accepting calls and waits for running ones up to `graceMs`, then cancels what is left. */
export function shutdownGrpcServer(server: Server, graceMs = 5_000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
