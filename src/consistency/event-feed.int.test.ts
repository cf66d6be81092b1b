/**
 * The event feed after a NATS restart: the server comes back (first taking clients before its JetStream
 * answers, as while a big store is restored under load) and the feed must deliver the events published after
 * it within seconds, in order, none twice. The client's own ordered-consumer recovery backed off for its
 * `expires` (30 s) after one failed lookup.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { jetstream } from "@nats-io/jetstream";
import { connectNats, type NatsHandles } from "../nats";
import { createPublishedEvent, encodePublishedEvent } from "../outbox";
import { type PrivateNats, startPrivateNats } from "../testing/private-servers";
import { ensureStreams, streamNames } from "../transport/jetstream/streams";
import { startJetStreamEventFeed } from "./event-feed";

let server: PrivateNats;
let consumerSide: NatsHandles;
const prefix = "feedtest";

beforeAll(async () => {
  server = await startPrivateNats();
  consumerSide = await connectNats(server.url, "feed-test");
  await ensureStreams(consumerSide.jsm, prefix);
});
afterAll(async () => {
  await consumerSide?.nc.close();
  await server?.destroy();
});

async function publish(n: number): Promise<void> {
  const nc = (await connectNats(server.url, "feed-test-publisher")).nc;
  const js = jetstream(nc);
  for (let i = 0; i < n; i++) {
    const event = createPublishedEvent({
      eventId: randomUUID(),
      type: "user.created",
      aggregateType: "user",
      aggregateId: randomUUID(),
      aggregateVersion: 1,
      position: String(i + 1),
      transactionId: "1",
      committedAt: new Date().toISOString(),
      data: {},
      metadata: {},
    });
    await js.publish(streamNames(prefix).eventSubject(event.type), encodePublishedEvent(event));
  }
  await nc.close();
}

test("resumes within seconds after NATS restarts, in order and without repeats", async () => {
  const seen: number[] = [];
  const feed = await startJetStreamEventFeed(consumerSide.nc, prefix, 0, (_event, seq) => {
    seen.push(seq);
  });
  await publish(5);
  while (seen.length < 5) await Bun.sleep(20);

  await server.stop("SIGKILL");
  await server.start({ jetstream: false }); // clients reconnect; JetStream does not answer yet
  await Bun.sleep(1_500);
  await server.stop("SIGTERM");
  await server.start();
  const back = performance.now();
  await publish(5);
  while (seen.length < 10 && performance.now() - back < 25_000) await Bun.sleep(20);
  const resumedMs = performance.now() - back;
  await feed.stop();

  expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  expect(resumedMs).toBeLessThan(5_000);
}, 40_000);
