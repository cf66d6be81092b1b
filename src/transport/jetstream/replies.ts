/**
 * The worker's answers to the gateways, batched: the commands a thread's group commit applied together are
 * answered together, one NATS message per gateway instead of one per command.
 *
 * A gateway that reads batched answers says so on every command it publishes ({@link REPLY_BATCHES_HEADER}); a
 * command without the header (a gateway of an older version, during a rolling upgrade) is answered alone, in
 * the single form: the `Clone-Command-Id` header and the outcome as the body. A batched answer carries
 * {@link REPLIES_HEADER} and a JSON array of `[commandId, outcome]` pairs. Only answers of more than one command
 * take the batched form, so a lone command (an idle system) is answered exactly as before.
 *
 * Each command's message is acked only after its answer was handed to the connection (the same order as
 * before batching: answer, then ack), so a crash between the two redelivers the command, which the stored
 * result answers again.
 */
import { headers, type Msg, type NatsConnection } from "@nats-io/nats-core";
import type { CommandOutcome } from "../../contracts";

/** Header on a command: the gateway that sent it reads batched answers. */
export const REPLY_BATCHES_HEADER = "Clone-Reply-Batches";
/** Header on a batched answer: how many commands it answers. */
export const REPLIES_HEADER = "Clone-Replies";
/** Header carrying the command id on a single answer. */
export const COMMAND_ID_HEADER = "Clone-Command-Id";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One command's answer, as a reply carries it. */
export type Reply = readonly [commandId: string, outcome: CommandOutcome];

/** Gathers the answers of one tick and sends them when it ends. */
export interface ReplyBatcher {
  /**
   * Queues the answer to `commandId` for `replyTo` (batched with the others of this tick when `batched`, the
   * command's sender reads batches); resolves once it was sent and `then` (the message's ack) ran.
   */
  add(
    replyTo: string,
    batched: boolean,
    commandId: string,
    outcome: CommandOutcome,
    then: () => void,
  ): Promise<void>;
}

/** Publishes one command's answer in the single form. */
export function publishReply(
  nc: NatsConnection,
  replyTo: string,
  commandId: string,
  outcome: CommandOutcome,
): void {
  const h = headers();
  h.set(COMMAND_ID_HEADER, commandId);
  nc.publish(replyTo, encoder.encode(JSON.stringify(outcome)), { headers: h });
}

interface Queued {
  readonly replyTo: string;
  readonly replies: Reply[];
  readonly after: Array<() => void>;
}

/** Creates the batcher of one connection (one command thread's, shared by its partitions). */
export function createReplyBatcher(nc: NatsConnection): ReplyBatcher {
  let queued = new Map<string, Queued>();
  let sent: Promise<void> | undefined;

  function flush(): void {
    const subjects = queued;
    queued = new Map();
    sent = undefined;
    for (const { replyTo, replies, after } of subjects.values()) {
      try {
        if (replies.length === 1) {
          const [commandId, outcome] = replies[0] as Reply;
          publishReply(nc, replyTo, commandId, outcome);
        } else {
          const h = headers();
          h.set(REPLIES_HEADER, String(replies.length));
          nc.publish(replyTo, encoder.encode(JSON.stringify(replies)), { headers: h });
        }
      } catch {
        // A closed connection: nobody is answered and nothing is acked, so the commands come again to the
        // partition's next consumer, which answers them from their stored results.
        continue;
      }
      for (const ack of after) ack();
    }
  }

  return {
    add(replyTo, batched, commandId, outcome, then) {
      // A sender that reads only single answers gets its own entry, keyed so that it is never batched.
      const key = batched ? replyTo : `${replyTo}\u0000${commandId}`;
      let entry = queued.get(key);
      if (entry === undefined) {
        entry = { replyTo, replies: [], after: [] };
        queued.set(key, entry);
      }
      entry.replies.push([commandId, outcome]);
      entry.after.push(then);
      if (sent === undefined) sent = Promise.resolve().then(flush);
      return sent;
    },
  };
}

/** The answers a reply carries: one (the single form) or several (the batched form); none if unreadable. */
export function readReplies(msg: Msg): readonly Reply[] {
  const h = msg.headers;
  if (h === undefined) return [];
  try {
    if (h.has(REPLIES_HEADER)) return JSON.parse(decoder.decode(msg.data)) as Reply[];
    const commandId = h.get(COMMAND_ID_HEADER);
    if (commandId === "") return [];
    return [[commandId, JSON.parse(decoder.decode(msg.data)) as CommandOutcome]];
  } catch {
    return [];
  }
}
