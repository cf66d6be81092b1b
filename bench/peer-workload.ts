/**
 * The bench mix for the peer (emmett-peer.ts): its own conversations, started and given an opening turn each in
 * Emmett's event store, then mostly RecordConversationTurn on a random one of them plus the same share of
 * CreateUser as e2e, each with a fresh id: in the bench process (`inProcess`) or as gRPC calls to the peer's
 * server process (`overGrpc`), with the same request shapes as e2e sends the gateway.
 */
import type { GrpcClient } from "../src/gateway";
import type { CommandService } from "../src/gen/clone/v1/command_service_pb";
import { Speaker } from "../src/gen/clone/v1/enums_pb";
import type { CommandMixOptions } from "./command-workload";
import type { EmmettPeer } from "./emmett-peer";
import type { Operation } from "./load";

const DEADLINE_MS = 30_000;
const SETUP_LANES = 16;
const text =
  "Sure, I remember that trip to Lisbon: the tram up to the castle and the custard tarts in Belem.";

/** The peer's prepared mix. */
export interface PeerWorkload {
  /** One command of the mix, handled in this process. */
  readonly inProcess: Operation;
  /** One command of the mix, sent to the peer's gRPC server with `token`. */
  overGrpc(client: GrpcClient<typeof CommandService>, token: string): Operation;
}

/** Starts `options.conversations` conversations with a turn each in the peer's store. */
export async function preparePeerWorkload(
  peer: EmmettPeer,
  options: CommandMixOptions,
): Promise<PeerWorkload> {
  const ids = Array.from({ length: options.conversations }, () => crypto.randomUUID());
  await peer.migrate();
  let next = 0;
  const lane = async () => {
    while (next < ids.length) {
      const id = ids[next++] as string;
      await peer.startConversation(id, crypto.randomUUID());
      await peer.recordTurn(turn(id, 0));
    }
  };
  await Promise.all(Array.from({ length: SETUP_LANES }, lane));
  const randomId = () => ids[Math.floor(Math.random() * ids.length)] as string;
  const isCreateUser = () => Math.random() < options.createUserShare;
  return {
    inProcess: async (lane, seq) => {
      if (isCreateUser()) {
        const userId = crypto.randomUUID();
        await peer.createUser(userId, `u-${userId}@bench.test`, `L${lane}`);
      } else {
        await peer.recordTurn(turn(randomId(), seq));
      }
    },
    overGrpc: (client, token) => async (lane, seq) => {
      const call = { token, deadline: Date.now() + DEADLINE_MS };
      const commandId = crypto.randomUUID();
      if (isCreateUser()) {
        const request = {
          options: { commandId },
          email: `u-${commandId}@bench.test`,
          displayName: `L${lane}`,
        };
        await client.call("createUser", request, call);
      } else {
        await client.call(
          "recordConversationTurn",
          { options: { commandId }, ...turn(randomId(), seq) },
          call,
        );
      }
    },
  };
}

function turn(conversationId: string, seq: number) {
  return {
    conversationId,
    speaker: seq % 2 === 0 ? Speaker.USER : Speaker.CLONE,
    text: `${text} (${seq})`,
    audioMs: 2_400,
    latencyMs: 180,
  };
}
