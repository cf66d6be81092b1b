/**
 * Child-process entry of the live section's probed pass (live-delivery.ts):
 * `bun bench/live-observer.ts <nats-url> <prefix> <conversation-id>`. Stamps (epoch ms, its own idle event
 * loop, as path-observer.ts does for commands) the speaker's turns at three points of their way, with plain
 * NATS subscriptions:
 *
 * - `published <n> <ms>`: the gateway published the command to JetStream;
 * - `replied <n> <ms>`: the worker replied (its transaction committed);
 * - `evt <n> <ms>`: the outbox relay published the event to the EVENTS stream (a core subscription sees the
 *   message as JetStream stores it, as the gateway's live feed does).
 *
 * `n` is the turn's number: the speaker's command ids are {@link liveCommandId}, and its turns' text ends with
 * it.
 */
import { connect } from "@nats-io/transport-node";
import { decodePublishedEvent, PUBLISHED_EVENT_HEADERS } from "../src/outbox/published-event";
import { readReplies } from "../src/transport/jetstream/replies";
import { streamNames } from "../src/transport/jetstream/streams";
import { liveTurnOf, liveTurnOfText } from "./live-tags";

const [url, prefix, conversationId] = process.argv.slice(2);
if (url === undefined || prefix === undefined || conversationId === undefined)
  throw new Error("usage: live-observer.ts <nats-url> <prefix> <conversation-id>");
const nc = await connect({ servers: url, name: "bench-live-observer" });
const epochMs = () => performance.timeOrigin + performance.now();
const names = streamNames(prefix);
const stamp = (what: string, n: number | undefined, at: number) => {
  if (n !== undefined) process.stdout.write(`${what} ${n} ${at}\n`);
};

nc.subscribe(`${prefix}.cmd.*`, {
  callback: (_e, m) => stamp("published", liveTurnOf(m.headers?.get("Nats-Msg-Id")), epochMs()),
});
nc.subscribe(names.replySubject("*"), {
  callback: (_e, m) => {
    const at = epochMs();
    // A reply answers one command or, batched, several (replies.ts).
    for (const [commandId] of readReplies(m)) stamp("replied", liveTurnOf(commandId), at);
  },
});
nc.subscribe(names.eventSubject("conversation.turn_recorded"), {
  callback: (_e, m) => {
    const at = epochMs();
    if (m.headers?.get(PUBLISHED_EVENT_HEADERS.aggregateId) !== conversationId) return;
    stamp("evt", liveTurnOfText(String(decodePublishedEvent(m.data).data.text)), at);
  },
});
await nc.flush();
console.log(JSON.stringify({ msg: "observing" }));
process.on("SIGTERM", () => void nc.close().finally(() => process.exit(0)));
