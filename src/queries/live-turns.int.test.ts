/** Live turns on a real NATS server: subscribed only while this gateway has a watcher. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { headers } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
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

/** Publishes a turn as the relay does, from the test's own connection (not the watching gateway's). */
async function publishTurn(sequence: number): Promise<void> {
  const event = turn(sequence);
  const h = headers();
  h.set(PUBLISHED_EVENT_HEADERS.aggregateId, conversationId);
  nats.nc.publish(streamNames(nats.prefix).eventSubject(event.type), encodePublishedEvent(event), {
    headers: h,
  });
  await nats.nc.flush();
}

async function waitFor(seen: readonly number[], count: number): Promise<void> {
  for (let i = 0; i < 100 && seen.length < count; i++) await Bun.sleep(10);
}

describe("live turns on NATS", () => {
  test("subscribes with the first watcher, delivers its conversation's turns, unsubscribes after the last", async () => {
    // The gateway's connection is not the publisher's: only the awaited subscription orders them.
    const gateway = await connect({ servers: nats.url });
    const live = createNatsLiveTurns(gateway, nats.prefix);
    try {
      expect(await someoneSubscribed()).toBe(false);

      // Published as soon as listen resolved, from another connection: delivered.
      const seenA: number[] = [];
      const stopA = await live.listen(conversationId, (e) => seenA.push(Number(e.data.sequence)));
      await publishTurn(1);
      await waitFor(seenA, 1);
      expect(seenA).toEqual([1]);

      // A stop called twice does not end a later watcher of the same conversation.
      stopA();
      const seenA2: number[] = [];
      const stopA2 = await live.listen(conversationId, (e) => seenA2.push(Number(e.data.sequence)));
      stopA();
      await publishTurn(2);
      await waitFor(seenA2, 1);
      expect(seenA2).toEqual([2]);
      expect(seenA).toEqual([1]);

      const stopB = await live.listen(crypto.randomUUID(), () => {});
      stopA2();
      expect(await someoneSubscribed()).toBe(true); // B still watches
      stopB();
      await gateway.flush(); // the UNSUB leaves with the gateway connection's next write
      expect(await someoneSubscribed()).toBe(false);
    } finally {
      live.close();
      await gateway.close();
    }
  });
});
