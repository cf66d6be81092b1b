/**
 * Child-process entry of bench:commands' messaging floor (messaging-floor.ts):
 * `bun bench/floor-server.ts <nats-url> <prefix>`, printing `{"msg":"floor listening","port":N}`.
 *
 * A grpc-js server (the gateway's own `createGrpcServer`, as echo-server.ts) whose RecordConversationTurn handler
 * does only the gateway's share of the command path's messaging: it publishes the request's protobuf bytes to
 * the floor's stream (floor-stream.ts), on the partition of its conversation id, with `Nats-Msg-Id` = the
 * command id and a reply-subject header, awaits the PubAck (through the gateway's own acked publisher), and
 * answers when floor-responder.ts's reply arrives on this process's reply subject. No interceptors, auth,
 * validation or envelope: what it costs is gRPC and messaging alone.
 */
import { toBinary } from "@bufbuild/protobuf";
import { nuid } from "@nats-io/nats-core";
import { bindGrpcServer, createGrpcServer, registerService } from "../src/gateway";
import { CommandService, RecordConversationTurnRequestSchema } from "../src/gen/clone/v1/command_service_pb";
import { createAckedPublisher } from "../src/transport/jetstream/acked-publisher";
import { partitionOf } from "../src/transport/partition";
import { commandHeaders, createReplyWaiter } from "./bare-messaging";
import { connectFloorChild, FLOOR_PARTITIONS } from "./floor-stream";

/** As the real sender's longest wait for a PubAck. */
const ACK_TIMEOUT_MS = 5_000;
const decoder = new TextDecoder();

const { nats, names } = await connectFloorChild("bench-floor-server");
const subjects = Array.from({ length: FLOOR_PARTITIONS }, (_, p) => names.commandSubject(p));
const publisher = createAckedPublisher(nats.nc);
const replies = createReplyWaiter(nats.nc, names.replySubject(nuid.next()));
await nats.nc.flush();

const server = createGrpcServer({
  services: [
    registerService(CommandService, {
      recordConversationTurn: async (request) => {
        const commandId = request.options?.commandId ?? "";
        const subject = subjects[partitionOf(request.conversationId, FLOOR_PARTITIONS)] as string;
        const data = toBinary(RecordConversationTurnRequestSchema, request);
        const reply = await replies.request(commandId, async () => {
          const duplicate = await publisher.publish(
            subject,
            data,
            commandHeaders(commandId, replies.subject),
            ACK_TIMEOUT_MS,
          );
          // Nobody would answer a dropped copy; the benchmark sends a fresh id each time, so this is a bug.
          if (duplicate) throw new Error(`command ${commandId} was published twice`);
        });
        return {
          result: {
            commandId,
            aggregateId: request.conversationId,
            version: 1n,
            events: ["conversation.turn_recorded"],
            consistencyToken: decoder.decode(reply),
          },
        };
      },
    }),
  ],
  maxReceiveMessageBytes: 4 * 1024 * 1024,
});
const port = await bindGrpcServer(server, "127.0.0.1", 0);
console.log(JSON.stringify({ msg: "floor listening", port }));
process.on("SIGTERM", () => {
  publisher.close();
  server.tryShutdown(() => void nats.nc.close().finally(() => process.exit(0)));
});
