/**
 * Child-process entry of the lag probe (lag-probe.ts): `bun bench/lag-observer.ts <nats-url> <prefix>...`.
 * For each prefix, stamps with plain NATS subscriptions (epoch ms, its own idle event loop, as
 * path-observer.ts does for commands):
 *
 * - `reply <prefix> <commandId> <ms>`: the worker answered the command (after its transaction committed);
 * - `wake <prefix> <ms>`: a worker woke the outbox relay (after a commit that wrote events);
 * - `evt <prefix> <userId> <ms>`: the outbox relay published `user.profile_updated` to the EVENTS stream
 *   (a core subscription on the stream's subject sees the message as JetStream stores it);
 * - `inv <prefix> <userId> <ms>`: the consistency role broadcast, on `<prefix>.consistency`, the invalidation
 *   of GetUserProfile for the user (sent after the view refresh committed; the gateways receive the same
 *   message).
 */
import { connect } from "@nats-io/transport-node";
import { consistencySubject, decodeUpdate } from "../src/consistency/update-wire";
import { PUBLISHED_EVENT_HEADERS } from "../src/outbox/published-event";
import { readReplies } from "../src/transport/jetstream/replies";
import { streamNames } from "../src/transport/jetstream/streams";

const [url, ...prefixes] = process.argv.slice(2);
if (url === undefined || prefixes.length === 0)
  throw new Error("usage: lag-observer.ts <nats-url> <prefix>...");
const nc = await connect({ servers: url, name: "bench-lag-observer" });
const epochMs = () => performance.timeOrigin + performance.now();
const USER_TAG = "user:";

for (const prefix of prefixes) {
  const names = streamNames(prefix);
  nc.subscribe(names.replySubject("*"), {
    callback: (_e, m) => {
      const at = epochMs();
      for (const [commandId] of readReplies(m)) process.stdout.write(`reply ${prefix} ${commandId} ${at}\n`);
    },
  });
  nc.subscribe(names.outboxWake, {
    callback: () => {
      process.stdout.write(`wake ${prefix} ${epochMs()}\n`);
    },
  });
  nc.subscribe(names.eventSubject("user.profile_updated"), {
    callback: (_e, m) => {
      const at = epochMs();
      const userId = m.headers?.get(PUBLISHED_EVENT_HEADERS.aggregateId);
      if (userId) process.stdout.write(`evt ${prefix} ${userId} ${at}\n`);
    },
  });
  nc.subscribe(consistencySubject(prefix), {
    callback: (_e, m) => {
      const at = epochMs();
      let lines = "";
      for (const inv of decodeUpdate(m.data).invalidations) {
        if (inv.queryType === "GetUserProfile" && inv.tag.startsWith(USER_TAG))
          lines += `inv ${prefix} ${inv.tag.slice(USER_TAG.length)} ${at}\n`;
      }
      if (lines !== "") process.stdout.write(lines);
    },
  });
}
await nc.flush();
console.log(JSON.stringify({ msg: "observing" }));
process.on("SIGTERM", () => void nc.close().finally(() => process.exit(0)));
