/**
 * Publishes one batch to the EVENTS stream, pipelined but never out of order.
 *
 * Every publish is issued at once (one connection sends them in order), then the acks are awaited in order.
 * Each publish after the first carries `Nats-Expected-Last-Msg-Id` = the previous event's id, so when event k
 * is not stored every later event of the batch is refused too ("wrong last msg ID"): the stream never holds
 * k+1 without k. JetStream checks the `Nats-Msg-Id` duplicate window before that expectation (checked on
 * nats-server 2.9.10), so a batch re-published after a crash is acked as duplicates rather than refused. The
 * first event of a batch carries no expectation: what the stream's last id is after a restart, a purge or an
 * expired duplicate window is not something the relay can know, and the previous batch was fully acked
 * before this one started anyway.
 */
import type { JetStreamClient } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import type { StreamNames } from "../transport/jetstream/streams";
import { encodePublishedEvent, type PublishedEvent, publishedEventHeaderValues } from "./published-event";

/** What {@link publishBatch} achieved. */
export interface BatchResult {
  /** The acked events: always a prefix of the batch, in order. */
  readonly published: readonly PublishedEvent[];
  /** Why the event after the prefix was not acked; undefined when the whole batch was. */
  readonly error?: unknown;
}

/** Options of {@link publishBatch}. */
export interface PublishBatchOptions {
  /** Ack timeout per message, ms; default the JetStream client's. */
  readonly timeoutMs?: number;
}

/** Publishes `events` in order with `msgID = eventId`; resolves (never rejects) with the acked prefix. */
export async function publishBatch(
  js: JetStreamClient,
  names: StreamNames,
  events: readonly PublishedEvent[],
  options: PublishBatchOptions = {},
): Promise<BatchResult> {
  const acks = events.map((event, i) => {
    const h = headers();
    for (const [key, value] of publishedEventHeaderValues(event)) h.set(key, value);
    const previous = i === 0 ? undefined : events[i - 1];
    return js.publish(names.eventSubject(event.type), encodePublishedEvent(event), {
      msgID: event.eventId,
      headers: h,
      ...(previous === undefined ? {} : { expect: { lastMsgID: previous.eventId } }),
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    });
  });
  const settled = await Promise.allSettled(acks);
  const published: PublishedEvent[] = [];
  for (const [i, outcome] of settled.entries()) {
    if (outcome.status === "rejected") return { published, error: outcome.reason };
    published.push(events[i]!);
  }
  return { published };
}
