/**
 * The JetStream event source on a real NATS: a failing event waits out its backoff in its own lane (nak with
 * delay, no handling slot held), so the events behind it go on even when more events fail than the
 * subscription handles at once; a deterministic failure is dead-lettered at once and acked; a durable consumer
 * made with the old max_ack_pending is widened.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { encodePublishedEvent, type PublishedEvent } from "../outbox";
import { createTestNats, type TestNats } from "../testing";
import { ensureStreams, streamNames } from "../transport/jetstream/streams";
import { testEvent, until } from "./events.testkit";
import { createJetStreamEventSource } from "./jetstream-event-source";

let nats: TestNats;

beforeAll(async () => {
  nats = await createTestNats();
  await ensureStreams(await jetstreamManager(nats.nc), nats.prefix);
});

afterAll(() => nats?.cleanup());

const event = () => testEvent("document.uploaded");

async function publish(events: readonly PublishedEvent[]): Promise<void> {
  const js = jetstream(nats.nc);
  for (const e of events)
    await js.publish(streamNames(nats.prefix).eventSubject(e.type), encodePublishedEvent(e));
}

describe("JetStream event source: poison isolation", () => {
  test("more failing events than handling slots hold no event back; deterministic failures are dead-lettered", async () => {
    const jsm = await jetstreamManager(nats.nc);
    const name = "isolation";
    // A consumer as made before this change: max_ack_pending = concurrency.
    await jsm.consumers.add(streamNames(nats.prefix).eventStream, {
      durable_name: name,
      filter_subject: streamNames(nats.prefix).eventSubject("document.uploaded"),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: 2,
    });
    const source = createJetStreamEventSource({ js: jetstream(nats.nc), jsm, prefix: nats.prefix });
    const flaky = [event(), event(), event()];
    const poisoned = event();
    const flakyIds = new Set(flaky.map((e) => e.eventId));
    const attempts = new Map<string, number>();
    const handled: string[] = [];
    const dead: Array<{ id: string; attempts: number }> = [];
    const sub = await source.subscribe(
      name,
      ["document.uploaded"],
      async (e) => {
        const n = (attempts.get(e.eventId) ?? 0) + 1;
        attempts.set(e.eventId, n);
        if (e.eventId === poisoned.eventId) throw new SyntaxError("cannot decode this one");
        if (flakyIds.has(e.eventId) && n < 3)
          throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
        handled.push(e.eventId);
      },
      {
        concurrency: 2,
        retryPolicy: { baseMs: 300, capMs: 600, maxAttempts: 5, maxTransientAttempts: 10 },
        deadLetter: async (e, _error, n) => {
          dead.push({ id: e.eventId, attempts: n });
        },
      },
    );
    const info = await jsm.consumers.info(streamNames(nats.prefix).eventStream, name);
    expect(info.config.max_ack_pending).toBe(1_000);
    const ordinary = Array.from({ length: 10 }, () => event());
    await publish([...flaky, poisoned, ...ordinary]);
    // The ordinary events are all handled while the flaky ones still wait out their backoff.
    await until(() => ordinary.every((e) => handled.includes(e.eventId)), 10_000);
    expect(flaky.some((e) => handled.includes(e.eventId))).toBe(false);
    await until(() => flaky.every((e) => handled.includes(e.eventId)), 10_000);
    expect(flaky.map((e) => attempts.get(e.eventId))).toEqual([3, 3, 3]);
    expect(dead).toEqual([{ id: poisoned.eventId, attempts: 1 }]);
    await sub.stop();
    // Everything was acked: nothing pending on the consumer (the server applies an ack asynchronously, so
    // the last one may land a few ms after the stop).
    const pending = async () => {
      const after = await jsm.consumers.info(streamNames(nats.prefix).eventStream, name);
      return after.num_ack_pending + after.num_pending;
    };
    for (let i = 0; i < 20 && (await pending()) > 0; i++) await Bun.sleep(50);
    expect(await pending()).toBe(0);
  }, 30_000);
});
