/**
 * Child-process entry of the bare gRPC baseline: a grpc-js server, built with the gateway's own
 * `createGrpcServer` over the CommandService descriptor, whose RecordConversationTurn handler answers at once
 * with what it was sent (no interceptors, no auth, no command bus). Run in its own process so that client and
 * server do not share an event loop, as with the real gateway. Prints `{"msg":"echo listening","port":N}`.
 */
import { bindGrpcServer, createGrpcServer, registerService } from "../src/gateway";
import { CommandService } from "../src/gen/clone/v1/command_service_pb";

const server = createGrpcServer({
  services: [
    registerService(CommandService, {
      recordConversationTurn: async (request) => ({
        result: {
          commandId: request.options?.commandId ?? "",
          aggregateId: request.conversationId,
          version: 1n,
          events: ["conversation.turn_recorded"],
          consistencyToken: request.text.slice(0, 32),
        },
      }),
    }),
  ],
  maxReceiveMessageBytes: 4 * 1024 * 1024,
});
const port = await bindGrpcServer(server, "127.0.0.1", 0);
console.log(JSON.stringify({ msg: "echo listening", port }));
process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
