/**
 * The durable JetStream event source after a NATS restart, on a private nats-server: the server is SIGKILLed
 * while an event is being handled (its ack is lost), comes back first without JetStream (as while a big store
 * is restored), then with it; an event published once it is back must be handled within 3 s, and the one whose
 * ack was lost is delivered again after the ack wait (10 s; the handlers are idempotent). Measured before the
 * source started its consumer over after a reconnect: 16.5 s for the new event (the client's own recovery
 * waits for missed heartbeats, then backs off for the pull's `expires`, 30 s); after: ~0.3 s.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { jetstream } from "@nats-io/jetstream";
import { connectNats, type NatsHandles } from "../nats";
import { encodePublishedEvent, type PublishedEvent } from "../outbox";
import { type PrivateNats, startPrivateNats } from "../testing/private-servers";
import { ensureStreams, streamNames } from "../transport/jetstream/streams";
import { testEvent } from "./events.testkit";
import { createJetStreamEventSource } from "./jetstream-event-source";

const prefix = "sourcerestart";
let server: PrivateNats;
let consumerSide: NatsHandles;

beforeAll(async () => {
  server = await startPrivateNats();
  consumerSide = await connectNats(server.url, "event-source-restart-test");
  await ensureStreams(consumerSide.jsm, prefix);
});
afterAll(async () => {
  await consumerSide?.nc.close();
  await server?.destroy();
});

async function publish(event: PublishedEvent): Promise<void> {
  const nc = (await connectNats(server.url, "event-source-restart-publisher")).nc;
  await jetstream(nc).publish(streamNames(prefix).eventSubject(event.type), encodePublishedEvent(event));
  await nc.close();
}

/** Resolves with how long `condition` took to hold (checked every 20 ms), or `timeoutMs` if it did not. */
async function timeUntil(condition: () => boolean, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (!condition() && performance.now() - start < timeoutMs) await Bun.sleep(20);
  return performance.now() - start;
}

test("a durable subscription handles an event published right after a NATS restart within seconds", async () => {
  const source = createJetStreamEventSource({ ...consumerSide, prefix });
  const handled: string[] = [];
  let holdFirst = true;
  let firstStarted = false;
  const first = testEvent("document.uploaded");
  const sub = await source.subscribe(
    "restart-processor",
    ["document.uploaded"],
    async (event) => {
      if (event.eventId === first.eventId && holdFirst) {
        firstStarted = true;
        holdFirst = false;
        await Bun.sleep(1_000); // still handling it when the server dies: its ack is lost
      }
      handled.push(event.eventId);
    },
    { concurrency: 1 },
  );
  try {
    await publish(first);
    expect(await timeUntil(() => firstStarted, 5_000)).toBeLessThan(5_000);
    await server.stop("SIGKILL");
    await server.start({ jetstream: false }); // clients reconnect; JetStream does not answer yet
    await Bun.sleep(1_500);
    await server.stop("SIGTERM");
    await server.start();
    const back = performance.now();
    const second = testEvent("document.uploaded");
    await publish(second);
    const secondMs = await timeUntil(() => handled.includes(second.eventId), 25_000);
    // The first event's ack went to a server without JetStream: it comes again after the ack wait (10 s, not
    // 30 s), handled a second time (idempotent), and nothing is left pending.
    const names = streamNames(prefix);
    let settled = false;
    while (!settled && performance.now() - back < 25_000) {
      const info = await consumerSide.jsm.consumers.info(names.eventStream, "restart-processor");
      settled = info.num_ack_pending === 0 && info.num_pending === 0;
      if (!settled) await Bun.sleep(100);
    }
    const settledMs = performance.now() - back;
    console.log(
      `event published after the NATS restart handled ${Math.round(secondMs)} ms after it was back; nothing pending after ${Math.round(settledMs)} ms (the first event handled ${handled.filter((id) => id === first.eventId).length} times)`,
    );
    expect(secondMs).toBeLessThan(3_000);
    expect(settled).toBe(true);
    expect(settledMs).toBeLessThan(14_000);
  } finally {
    await sub.stop();
  }
}, 60_000);
