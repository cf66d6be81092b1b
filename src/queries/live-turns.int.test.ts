/** Live turns on a real NATS server: subscribed only while this gateway has a watcher. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { headers } from "@nats-io/nats-core";
import {
  createPublishedEvent,
  encodePublishedEvent,
  PUBLISHED_EVENT_HEADERS,
  type PublishedEvent,
} from "../outbox";
import { createTestNats, type TestNats } from "../testing";
import { streamNames } from "../transport/jetstream/streams";
import { createNatsLiveTurns } from "./live-turns";

let nats: TestNats;
beforeAll(async () => {
  nats = await createTestNats();
});
afterAll(() => nats.cleanup());

const conversationId = crypto.randomUUID();

function turn(sequence: number): PublishedEvent {
  return createPublishedEvent({
    eventId: crypto.randomUUID(),
    type: "conversation.turn_recorded",
    aggregateType: "conversation",
    aggregateId: conversationId,
    aggregateVersion: sequence + 1,
    position: String(sequence),
    transactionId: "1",
    committedAt: new Date().toISOString(),
    data: { sequence, text: `turn ${sequence}` },
    metadata: {},
  });
}

/** True when something subscribes to the turn subject: a request gets no "no responders" answer. */
async function someoneSubscribed(): Promise<boolean> {
  const subject = streamNames(nats.prefix).eventSubject("conversation.turn_recorded");
  try {
    await nats.nc.request(subject, new Uint8Array(), { timeout: 200 });
    return true;
  } catch (error) {
    if (/no responders|503/i.test(String(error))) return false;
    if (/timeout/i.test(String(error))) return true;
    throw error;
  }
}

describe("live turns on NATS", () => {
  test("subscribes with the first watcher, delivers its conversation's turns, unsubscribes after the last", async () => {
    const live = createNatsLiveTurns(nats.nc, nats.prefix);
    try {
      expect(await someoneSubscribed()).toBe(false);

      const seen: number[] = [];
      const stopA = await live.listen(conversationId, (e) => seen.push(Number(e.data.sequence)));
      const stopB = await live.listen(crypto.randomUUID(), () => {});
      expect(await someoneSubscribed()).toBe(true);

      const event = turn(1);
      const h = headers();
      h.set(PUBLISHED_EVENT_HEADERS.aggregateId, conversationId);
      nats.nc.publish(streamNames(nats.prefix).eventSubject(event.type), encodePublishedEvent(event), {
        headers: h,
      });
      await nats.nc.flush();
      for (let i = 0; i < 100 && seen.length === 0; i++) await Bun.sleep(10);
      expect(seen).toEqual([1]);

      stopA();
      stopA(); // stopping twice changes nothing
      expect(await someoneSubscribed()).toBe(true); // B still watches
      stopB();
      expect(await someoneSubscribed()).toBe(false);

      // A new watcher subscribes again.
      const stopC = await live.listen(conversationId, () => {});
      expect(await someoneSubscribed()).toBe(true);
      stopC();
    } finally {
      live.close();
    }
  });
});
