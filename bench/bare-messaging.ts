/**
 * The command path's messaging without the service around it, for the benchmark servers that measure it bare
 * (floor-server.ts and floor-responder.ts, bench:commands' messaging floor; gateway-overhead-server.ts's
 * `echo-publish` mode and its responder): the gateway side's wait for a reply on a core NATS subject and the
 * worker side's answer, with the headers of src/transport/jetstream (`commandHeaders`, re-exported here for
 * the servers; so the same responder answers the real command sender too).
 */
import { headers, type MsgHdrs, type NatsConnection } from "@nats-io/nats-core";
import { COMMAND_ID_HEADER, REPLY_HEADER } from "../src/transport/jetstream/command-sender";

export { commandHeaders } from "../src/transport/jetstream/command-sender";

/** One reply subject, subscribed, and the commands waiting for their reply on it. */
export interface ReplyWaiter {
  readonly subject: string;
  /**
   * Registers the wait for `commandId`'s reply, then runs `publish` (which sends the command); resolves with
   * the reply's data. The wait comes first because the reply can overtake the publish's ack. No timer: a wait
   * whose reply was lost stays pending (the caller's deadline ends the RPC, not the wait), which a benchmark
   * whose replies all arrive can afford.
   */
  request(commandId: string, publish: () => Promise<unknown>): Promise<Uint8Array>;
}

/** Subscribes to `subject`; a reply is matched to its command by the command-id header. */
export function createReplyWaiter(nc: NatsConnection, subject: string): ReplyWaiter {
  const pending = new Map<string, (data: Uint8Array) => void>();
  nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) return;
      const id = msg.headers?.get(COMMAND_ID_HEADER);
      const resolve = id ? pending.get(id) : undefined;
      if (id && resolve) {
        pending.delete(id);
        resolve(msg.data);
      }
    },
  });
  return {
    subject,
    async request(commandId, publish) {
      const reply = new Promise<Uint8Array>((resolve) => pending.set(commandId, resolve));
      try {
        await publish();
      } catch (error) {
        pending.delete(commandId);
        throw error;
      }
      return reply;
    },
  };
}

/**
 * Answers a command message as a worker does: `reply(commandId)` published (core NATS) to the subject its
 * reply header names, tagged with its id. Returns the id, or undefined when the message names no reply subject
 * or id (nothing is sent).
 */
export function answerCommand(
  nc: NatsConnection,
  msgHeaders: MsgHdrs | undefined,
  reply: (commandId: string) => Uint8Array,
): string | undefined {
  const replyTo = msgHeaders?.get(REPLY_HEADER);
  const commandId = msgHeaders?.get("Nats-Msg-Id"); // set by commandHeaders
  if (!replyTo || !commandId) return undefined;
  const h = headers();
  h.set(COMMAND_ID_HEADER, commandId);
  nc.publish(replyTo, reply(commandId), { headers: h });
  return commandId;
}
