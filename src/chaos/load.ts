/**
 * The load client: lanes that each send commands one after another (a turn of the lane's own conversation,
 * every fourth a new user), retrying a command with the same id on UNAVAILABLE or DEADLINE_EXCEEDED, and
 * recording what was acknowledged, when, and at which consistency point.
 */
import type { StreamPoint } from "../contracts";
import { Speaker } from "../gen/clone/v1/enums_pb";
import { type GatewayClients, sendWithRetry } from "./retry";

/** A command a gateway answered OK. */
export interface AckedCommand {
  readonly commandId: string;
  readonly lane: number;
  /** The lane's sequence number of the command: lanes send in this order. */
  readonly seq: number;
  readonly kind: "turn" | "user" | "canary";
  readonly conversationId?: string;
  readonly text?: string;
  /** When the answer came (epoch ms). */
  readonly ackedAt: number;
  readonly point: StreamPoint | undefined;
}

/**
 * A command that was not acknowledged: a non-retryable answer, the retry budget ran out, or it expired before
 * it ran (`code` EXPIRED: then it must not have been applied).
 */
export interface UnackedCommand {
  readonly commandId: string;
  readonly lane: number;
  readonly seq: number;
  readonly code: string;
}

/** A running load. */
export interface Load {
  readonly acked: AckedCommand[];
  readonly unacked: UnackedCommand[];
  /** The conversation of each lane. */
  readonly conversations: readonly string[];
  /** Commands that needed more than one attempt. */
  retried(): number;
  /** Lets each lane finish its current command, then resolves. */
  stop(): Promise<void>;
}

/** Options of {@link startLoad}. */
export interface LoadOptions {
  readonly clients: GatewayClients;
  readonly token: string;
  readonly lanes: number;
  /** Pause between two commands of a lane, ms. */
  readonly pauseMs: number;
}

const attempt = { attemptMs: 1_500, budgetMs: 90_000 };

/** Creates one user and one conversation per lane, then runs the lanes until stopped. */
export async function startLoad(options: LoadOptions): Promise<Load> {
  const { clients, token } = options;
  const gateways = clients.commands.length;
  const command = (gateway: number) =>
    clients.commands[gateway % gateways] as GatewayClients["commands"][number];
  const acked: AckedCommand[] = [];
  const unacked: UnackedCommand[] = [];
  let stopped = false;
  let retried = 0;

  const conversations = await Promise.all(
    Array.from({ length: options.lanes }, async (_, lane) => {
      const user = await command(lane).call(
        "createUser",
        { email: `lane${lane}-${crypto.randomUUID()}@example.com`, displayName: `Lane ${lane}` },
        { token },
      );
      const started = await command(lane).call(
        "startConversation",
        { userId: user.result?.aggregateId ?? "" },
        { token },
      );
      return started.result?.aggregateId ?? "";
    }),
  );

  const runLane = async (lane: number): Promise<void> => {
    const conversationId = conversations[lane] as string;
    for (let seq = 1; !stopped; seq++) {
      const isTurn = seq % 4 !== 0;
      const text = `lane ${lane} turn ${seq}`;
      const outcome = await sendWithRetry(
        gateways,
        (g, deadline, commandId) =>
          isTurn
            ? command(g).call(
                "recordConversationTurn",
                {
                  options: { commandId },
                  conversationId,
                  speaker: Speaker.USER,
                  text,
                  audioMs: 1,
                  latencyMs: 1,
                },
                { token, deadline },
              )
            : command(g).call(
                "createUser",
                { options: { commandId }, email: `${commandId}@example.com`, displayName: `User ${seq}` },
                { token, deadline },
              ),
        () => `load-${lane}-${seq}-${crypto.randomUUID()}`,
        { ...attempt, firstGateway: lane + seq },
      );
      const { commandId } = outcome;
      if (outcome.attempts > 1) retried++;
      for (const id of outcome.expired) unacked.push({ commandId: id, lane, seq, code: "EXPIRED" });
      if (outcome.ok)
        acked.push({
          commandId,
          lane,
          seq,
          kind: isTurn ? "turn" : "user",
          ...(isTurn ? { conversationId, text } : {}),
          ackedAt: Date.now(),
          point: outcome.point,
        });
      else unacked.push({ commandId, lane, seq, code: outcome.code });
      await Bun.sleep(options.pauseMs);
    }
  };
  const running = Promise.all(Array.from({ length: options.lanes }, (_, lane) => runLane(lane)));
  return {
    acked,
    unacked,
    conversations,
    retried: () => retried,
    async stop() {
      stopped = true;
      await running;
    },
  };
}
