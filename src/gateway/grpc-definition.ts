/**
 * grpc-js service definitions built from protobuf-es descriptors, shared by the server and the client, so the
 * generated `_pb.ts` files are the only schema (no `@grpc/proto-loader`, no grpc-tools codegen).
 */
import { type DescMethod, type DescService, fromBinary, type Message, toBinary } from "@bufbuild/protobuf";
import type { Metadata, MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import type { AppError } from "../errors";
import { oversizedRequest, undecodableRequest } from "./request-rules";

/**
 * What the server's `requestDeserialize` returns for bytes that are not a valid request (or too many of them).
 * grpc-js would answer a throwing deserializer with INTERNAL; the handler throws `error` (INVALID_ARGUMENT)
 * instead.
 */
export class DecodeFailure {
  constructor(readonly error: AppError) {}
}

/** True for the unary and server-streaming methods, the kinds the gateway serves. */
export function isServedKind(method: DescMethod): method is DescMethod & {
  methodKind: "unary" | "server_streaming";
} {
  return method.methodKind === "unary" || method.methodKind === "server_streaming";
}

/**
 * The grpc-js method definition of one RPC: path `/${service.typeName}/${method.name}` and binary codecs.
 * A server's deserializer refuses requests over `maxRequestBytes` (a DecodeFailure).
 */
export function grpcMethodDefinition(
  method: DescMethod,
  maxRequestBytes = Number.POSITIVE_INFINITY,
): MethodDefinition<Message, Message> {
  // The server may see a DecodeFailure in place of the request; `call.request` is checked before use.
  const requestDeserialize = (bytes: Buffer): Message | DecodeFailure => {
    if (bytes.byteLength > maxRequestBytes) return new DecodeFailure(oversizedRequest(maxRequestBytes));
    try {
      return fromBinary(method.input, bytes);
    } catch (error) {
      return new DecodeFailure(undecodableRequest(method.input, error instanceof Error ? error.message : ""));
    }
  };
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    originalName: method.localName,
    requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
    responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
    requestSerialize: (message: Message) => Buffer.from(toBinary(method.input, message)),
    requestDeserialize: requestDeserialize as (bytes: Buffer) => Message,
    responseSerialize: (message: Message) => Buffer.from(toBinary(method.output, message)),
    responseDeserialize: (bytes: Buffer) => fromBinary(method.output, bytes),
  };
}

/** The grpc-js service definition (keyed by `method.localName`) of the unary and server-streaming methods. */
export function grpcServiceDefinition(service: DescService, maxRequestBytes?: number): ServiceDefinition {
  const definition: Record<string, MethodDefinition<Message, Message>> = {};
  for (const method of service.methods) {
    if (isServedKind(method)) definition[method.localName] = grpcMethodDefinition(method, maxRequestBytes);
  }
  return definition;
}

/** Request metadata as headers: lower-cased keys, repeated values joined by ", ", binary entries left out. */
export function metadataToHeaders(metadata: Metadata): ReadonlyMap<string, string> {
  const headers = new Map<string, string>();
  const entries = metadata.toJSON();
  for (const key in entries) {
    if (key.endsWith("-bin")) continue;
    let text: string | undefined;
    for (const value of entries[key] ?? []) {
      if (typeof value === "string") text = text === undefined ? value : `${text}, ${value}`;
    }
    if (text !== undefined) headers.set(key.toLowerCase(), text);
  }
  return headers;
}
