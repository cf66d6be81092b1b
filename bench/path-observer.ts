/**
 * Child-process entry of the path probe (path-probe.ts): `bun bench/path-observer.ts <nats-url> <prefix>`,
 * started for each probed pass and stopped after it, so that it receives nothing while the timed cells run.
 * Watches the command subjects and the reply subjects of the prefix with plain NATS subscriptions and prints
 * `<commandId> <published> <replied>` (epoch ms) once both were seen. In its own process, so that its stamps
 * are not late by the load generator's event-loop lag.
 */
import { connect } from "@nats-io/transport-node";
import { readReplies } from "../src/transport/jetstream/replies";

const [url, prefix] = process.argv.slice(2);
if (url === undefined || prefix === undefined) throw new Error("usage: path-observer.ts <nats-url> <prefix>");
const nc = await connect({ servers: url, name: "bench-path-observer" });
const epochMs = () => performance.timeOrigin + performance.now();
const published = new Map<string, number>();
nc.subscribe(`${prefix}.cmd.*`, {
  callback: (_e, m) => {
    const id = m.headers?.get("Nats-Msg-Id");
    if (id) published.set(id, epochMs());
  },
});
nc.subscribe(`${prefix}.reply.*`, {
  callback: (_e, m) => {
    const replied = epochMs();
    for (const [id] of readReplies(m)) {
      const at = published.get(id);
      if (at === undefined) continue;
      published.delete(id);
      process.stdout.write(`${id} ${at} ${replied}\n`);
    }
  },
});
await nc.flush();
console.log(JSON.stringify({ msg: "observing" }));
process.on("SIGTERM", () => void nc.close().finally(() => process.exit(0)));
