/**
 * Serves {@link Reflection} on a grpc-js server. Reflection is the one bidi-streaming RPC the gateway has,
 * so it is bound to grpc-js directly instead of through the transport-neutral handlers (which serve unary
 * and server streaming): each request message is answered with one response, in order, until the client
 * half-closes. It needs no token (reflection is a public service) and bypasses the interceptors.
 */
import type { Message } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { type Server, type ServerDuplexStream, status } from "@grpc/grpc-js";
import type { ServerReflectionRequest } from "../gen/grpc/reflection/v1/reflection_pb";
import { ServerReflection, ServerReflectionResponseSchema } from "../gen/grpc/reflection/v1/reflection_pb";
import { DecodeFailure, grpcMethodDefinition } from "./grpc-definition";
import { type Reflection, reflectionServiceNames } from "./reflection";

/** Adds `grpc.reflection.v1.ServerReflection` and its v1alpha twin (same messages) to a grpc-js server. */
export function addReflectionService(server: Server, reflection: Reflection): void {
  const method = grpcMethodDefinition(ServerReflection.method.serverReflectionInfo);
  const handler = (call: ServerDuplexStream<Message, Message>): void => {
    call.on("data", (request: Message | DecodeFailure) => {
      if (request instanceof DecodeFailure) {
        call.emit("error", { code: status.INVALID_ARGUMENT, details: "not a ServerReflectionRequest" });
        return;
      }
      const answer = reflection.answer(request as ServerReflectionRequest);
      call.write(create(ServerReflectionResponseSchema, answer));
    });
    call.on("end", () => call.end());
    call.on("error", () => {});
  };
  server.addService({ serverReflectionInfo: method }, { serverReflectionInfo: handler });
  if (reflection.serviceNames.includes(reflectionServiceNames.v1alpha)) {
    const path = `/${reflectionServiceNames.v1alpha}/${ServerReflection.method.serverReflectionInfo.name}`;
    server.addService({ serverReflectionInfo: { ...method, path } }, { serverReflectionInfo: handler });
  }
}
