/**
 * Child-process entry of the gateway-overhead micro-benchmark (gateway-overhead.bench.ts):
 * `bun bench/gateway-overhead-server.ts <mode> [<nats-url> <prefix>]`, printing `{"msg":"listening","port":N}`.
 *
 * Modes (all serve `clone.v1.CommandService` with the gateway's own `createGrpcServer`):
 * - `echo`: RecordConversationTurn answers at once; no interceptors (the floor of gRPC in + out);
 * - `echo-publish`: echo plus a JetStream publish of a same-sized envelope, awaiting its ack, then a core NATS
 *   reply from the responder (the floor of gRPC + the messaging the command path needs);
 * - `gateway`: the real CommandService and interceptor chain (JWT auth, validation, authorisation with the real
 *   owner cache over a fake database, envelope) over a fake sender that answers at once;
 * - `gateway-js`: the same over the real JetStream command sender; the responder answers on core NATS.
 *
 * The responder (mode `responder`) prints `{"msg":"listening"}` and answers every message published on
 * `<prefix>.cmd.*` at once with an ok outcome, as a worker would after its transaction (without one), and
 * publishes a `conversation.turn_recorded` event as the outbox relay would (a real gateway receives those for
 * WatchConversation).
 *
 * Each mode runs in its own process so that the driver can read its CPU time from /proc. Run with
 * `GATEWAY_OVERHEAD_PROFILE=1` in the driver to have the children write CPU profiles (`bun --cpu-prof`).
 */
import { nuid } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { createCommandService } from "../src/commands/command-service";
import type { CommandEnvelope, CommandOutcome, CommandSender } from "../src/contracts";
import {
  authInterceptor,
  bindGrpcServer,
  createAuthenticator,
  createGrpcServer,
  registerService,
  type ServiceRegistration,
} from "../src/gateway";
import { CommandService } from "../src/gen/clone/v1/command_service_pb";
import { connectNats } from "../src/nats";
import { createPublishedEvent, encodePublishedEvent } from "../src/outbox";
import { createJetStreamCommandSender } from "../src/transport/jetstream/command-sender";
import { ensureStreams, streamNames } from "../src/transport/jetstream/streams";
import { partitionOf } from "../src/transport/partition";
import type { SqlClient } from "../src/write-model";
import { createOwnerLookup } from "../src/write-model";
import { answerCommand, commandHeaders, createReplyWaiter } from "./bare-messaging";
import { OVERHEAD_JWT_SECRET, OVERHEAD_USER_ID } from "./gateway-overhead-shared";

const PARTITIONS = 16;
const encoder = new TextEncoder();

const [mode, natsUrl, prefix] = process.argv.slice(2);

function okOutcome(commandId: string, aggregateId: string): CommandOutcome {
  return {
    ok: true,
    result: {
      commandId,
      aggregateId,
      version: 2,
      events: ["conversation.turn_recorded"],
      position: "123456",
      duplicate: false,
    },
  };
}

const instantSender: CommandSender = {
  send: async (envelope: CommandEnvelope) => okOutcome(envelope.commandId, envelope.aggregateId),
  close: async () => {},
};

/** Every aggregate belongs to the benchmark's user; misses cost what a pg round trip's JS side costs, about. */
const fakeDb: SqlClient = {
  query: (async () => ({ rows: [{ owner: OVERHEAD_USER_ID }] })) as unknown as SqlClient["query"],
};

async function gatewayServices(sender: CommandSender): Promise<{
  services: ServiceRegistration[];
  interceptors: ReturnType<typeof createCommandService>["interceptors"];
}> {
  const commands = createCommandService({
    sender,
    storeBlob: async () => {},
    ownerOf: createOwnerLookup(fakeDb),
  });
  return {
    services: [commands.registration],
    interceptors: [
      authInterceptor(createAuthenticator({ jwtSecret: OVERHEAD_JWT_SECRET })),
      ...commands.interceptors,
    ],
  };
}

async function echoPublishServices(): Promise<ServiceRegistration[]> {
  if (natsUrl === undefined || prefix === undefined)
    throw new Error("echo-publish needs <nats-url> <prefix>");
  const nats = await connectNats(natsUrl, "overhead-echo-publish");
  await ensureStreams(nats.jsm, prefix);
  const names = streamNames(prefix);
  const replies = createReplyWaiter(nats.nc, names.replySubject(nuid.next()));
  return [
    registerService(CommandService, {
      recordConversationTurn: async (request) => {
        const commandId = request.options?.commandId ?? "";
        // About the size of a real envelope: the request's fields plus ~300 bytes of envelope.
        const body = JSON.stringify({
          commandId,
          commandType: "RecordConversationTurn",
          aggregateType: "conversation",
          aggregateId: request.conversationId,
          payloadHash: "0".repeat(64),
          payload: {
            type: "RecordConversationTurn",
            conversationId: request.conversationId,
            text: request.text,
          },
          actor: { sub: OVERHEAD_USER_ID, role: "user" },
          issuedAt: Date.now(),
        });
        const subject = names.commandSubject(partitionOf(request.conversationId, PARTITIONS));
        const reply = await replies.request(commandId, () =>
          nats.js.publish(subject, body, { headers: commandHeaders(commandId, replies.subject) }),
        );
        const outcome = JSON.parse(new TextDecoder().decode(reply)) as CommandOutcome;
        if (!outcome.ok) throw new Error("responder failed");
        return {
          result: {
            commandId: outcome.result.commandId,
            aggregateId: outcome.result.aggregateId,
            version: BigInt(outcome.result.version),
            events: [...outcome.result.events],
            consistencyToken: outcome.result.position,
          },
        };
      },
    }),
  ];
}

async function jetStreamSender(): Promise<CommandSender> {
  if (natsUrl === undefined || prefix === undefined) throw new Error("gateway-js needs <nats-url> <prefix>");
  const nats = await connectNats(natsUrl, "overhead-gateway");
  await ensureStreams(nats.jsm, prefix);
  return createJetStreamCommandSender({
    nc: nats.nc,
    prefix,
    partitions: PARTITIONS,
    defaultTimeoutMs: 10_000,
    lookup: async () => undefined,
  });
}

let position = 0;

/** A published event of about the size the relay publishes for a turn. */
function turnEvent(commandId: string): Uint8Array {
  position++;
  const event = createPublishedEvent({
    eventId: crypto.randomUUID(),
    type: "conversation.turn_recorded",
    aggregateType: "conversation",
    aggregateId: crypto.randomUUID(),
    aggregateVersion: 2,
    position: String(position),
    transactionId: String(1000 + position),
    committedAt: new Date().toISOString(),
    data: { sequence: 1, speaker: "USER", text: "Sure, I remember that trip to Lisbon.", audioMs: 2400 },
    metadata: { commandId, actor: { sub: OVERHEAD_USER_ID, role: "user" } },
  });
  return encodePublishedEvent(event);
}

async function runResponder(): Promise<void> {
  if (natsUrl === undefined || prefix === undefined) throw new Error("responder needs <nats-url> <prefix>");
  const nc = await connect({ servers: natsUrl, name: "overhead-responder" });
  nc.subscribe(`${prefix}.cmd.*`, {
    callback: (_err, msg) => {
      const commandId = answerCommand(nc, msg.headers, (id) =>
        encoder.encode(JSON.stringify(okOutcome(id, "aggregate"))),
      );
      if (commandId) nc.publish(`${prefix}.evt.conversation.turn_recorded`, turnEvent(commandId));
    },
  });
  await nc.flush();
  console.log(JSON.stringify({ msg: "listening" }));
}

async function main(): Promise<void> {
  if (mode === "responder") return runResponder();
  let services: ServiceRegistration[];
  let interceptors: ReturnType<typeof createCommandService>["interceptors"] = [];
  switch (mode) {
    case "echo":
      services = [
        registerService(CommandService, {
          recordConversationTurn: async (request) => ({
            result: {
              commandId: request.options?.commandId ?? "",
              aggregateId: request.conversationId,
              version: 2n,
              events: ["conversation.turn_recorded"],
              consistencyToken: "123456",
            },
          }),
        }),
      ];
      break;
    case "echo-publish":
      services = await echoPublishServices();
      break;
    case "gateway":
      ({ services, interceptors } = await gatewayServices(instantSender));
      break;
    case "gateway-js":
      ({ services, interceptors } = await gatewayServices(await jetStreamSender()));
      break;
    default:
      throw new Error(`unknown mode ${mode}`);
  }
  const server = createGrpcServer({ services, interceptors, maxReceiveMessageBytes: 4 * 1024 * 1024 });
  const port = await bindGrpcServer(server, "127.0.0.1", 0);
  console.log(JSON.stringify({ msg: "listening", port }));
}

process.on("SIGTERM", () => process.exit(0));
await main();
