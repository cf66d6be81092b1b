/**
 * The end-to-end command mix: mostly RecordConversationTurn, each on a random one of many conversations and
 * sent with its owner's `user` token (as the app would), plus a share of CreateUser sent by a `service` token
 * (a sign-up backend). Every command carries a fresh command id. `op` sends it unobserved (the timed cells);
 * `observedBy` gives the same mix reporting each send and answer (the path probe's pass, see path-probe.ts).
 */
import { createGrpcClient, type GrpcCallOptions, mintToken } from "../src/gateway";
import { CommandService } from "../src/gen/clone/v1/command_service_pb";
import { Speaker } from "../src/gen/clone/v1/enums_pb";
import type { Operation } from "./load";

/** Told when each probed command is sent and answered (see path-probe.ts). */
export interface CommandObserver {
  sent(commandId: string): void;
  answered(commandId: string): void;
}

/** Sizes of the prepared data and of the mix. */
export interface CommandMixOptions {
  readonly users: number;
  readonly conversations: number;
  /** 0..1; the rest is RecordConversationTurn. */
  readonly createUserShare: number;
}

/** The prepared mix and its client. */
export interface CommandWorkload {
  /** One command of the mix, unobserved. */
  readonly op: Operation;
  /** One RecordConversationTurn on a random conversation (no CreateUser), unobserved. */
  readonly turnOp: Operation;
  /** The same mix, telling `observer` when each command is sent and answered. */
  observedBy(observer: CommandObserver): Operation;
  /** One RecordConversationTurn request (with a fresh id), to send the same bytes to the echo baseline. */
  turnRequest(seq: number): TurnRequest;
  readonly userToken: string;
  close(): void;
}

/** The turn request the mix sends. */
export type TurnRequest = {
  options: { commandId: string };
  conversationId: string;
  speaker: Speaker;
  text: string;
  audioMs: number;
  latencyMs: number;
};

interface Conversation {
  readonly id: string;
  readonly token: string;
}

const DEADLINE_MS = 30_000;
const SETUP_LANES = 32;
const text =
  "Sure, I remember that trip to Lisbon: the tram up to the castle and the custard tarts in Belem.";

/** Creates the users and their conversations, with an opening turn each, through the gateway. */
export async function prepareCommandWorkload(
  gatewayAddress: string,
  secret: string,
  options: CommandMixOptions,
): Promise<CommandWorkload> {
  const client = createGrpcClient(CommandService, gatewayAddress);
  try {
    const serviceToken = await mintToken({ sub: "bench-signup", role: "service", secret, expiresIn: "2h" });
    const owners = await inLanes(options.users, async (i) => {
      const userId = crypto.randomUUID();
      await client.call(
        "createUser",
        { userId, email: `owner-${userId}@bench.test`, displayName: `U${i}` },
        withToken(serviceToken),
      );
      return { userId, token: await mintToken({ sub: userId, role: "user", secret, expiresIn: "2h" }) };
    });
    const conversations = await inLanes(options.conversations, async (i): Promise<Conversation> => {
      const owner = owners[i % owners.length] as (typeof owners)[number];
      const r = await client.call("startConversation", { userId: owner.userId }, withToken(owner.token));
      return { id: r.result?.aggregateId ?? "", token: owner.token };
    });
    const turnOf = (conversation: Conversation, seq: number): TurnRequest => ({
      options: { commandId: crypto.randomUUID() },
      conversationId: conversation.id,
      speaker: seq % 2 === 0 ? Speaker.USER : Speaker.CLONE,
      text: `${text} (${seq})`,
      audioMs: 2_400,
      latencyMs: 180,
    });
    const randomConversation = () =>
      conversations[Math.floor(Math.random() * conversations.length)] as Conversation;
    // An opening turn each: conversations with some history, and the gateway's owner cache warm for all of them.
    await inLanes(conversations.length, async (i) => {
      const conversation = conversations[i] as Conversation;
      await client.call("recordConversationTurn", turnOf(conversation, 0), withToken(conversation.token));
    });
    const send = async (lane: number, seq: number, observer?: CommandObserver) => {
      let commandId: string;
      let answer: Promise<unknown>;
      if (Math.random() < options.createUserShare) {
        commandId = crypto.randomUUID();
        const request = {
          options: { commandId },
          email: `u-${commandId}@bench.test`,
          displayName: `L${lane}`,
        };
        observer?.sent(commandId);
        answer = client.call("createUser", request, withToken(serviceToken));
      } else {
        const conversation = randomConversation();
        const request = turnOf(conversation, seq);
        commandId = request.options.commandId;
        observer?.sent(commandId);
        answer = client.call("recordConversationTurn", request, withToken(conversation.token));
      }
      await answer;
      observer?.answered(commandId);
    };
    return {
      userToken: (owners[0] as (typeof owners)[number]).token,
      turnRequest: (seq) => turnOf(randomConversation(), seq),
      op: (lane, seq) => send(lane, seq),
      turnOp: async (_lane, seq) => {
        const conversation = randomConversation();
        await client.call("recordConversationTurn", turnOf(conversation, seq), withToken(conversation.token));
      },
      observedBy: (observer) => (lane, seq) => send(lane, seq, observer),
      close: () => client.close(),
    };
  } catch (error) {
    client.close();
    throw error;
  }
}

/** Call options: the token, and a deadline so that a stuck command fails instead of hanging the run. */
function withToken(token: string): GrpcCallOptions {
  return { token, deadline: Date.now() + DEADLINE_MS };
}

/** Runs `fn(0..count-1)` on a few lanes at once; results in index order. */
async function inLanes<T>(count: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(SETUP_LANES, count) }, lane));
  return results;
}
