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
import { headers, type MsgHdrs } from "@nats-io/transport-node";
import { endSpan, SpanKind, startSpan, TRACEPARENT, traceparentOfSpan, tracingOn } from "../tracing";
import type { AckedPublisher } from "../transport/jetstream/acked-publisher";
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
  /** Ack timeout per message, ms; default 5000. */
  readonly timeoutMs?: number;
}

/**
 * While tracing is on: a PRODUCER span for an event whose metadata carries its command's trace context (a
 * child of the worker's `command.apply` span), lasting until the ack; its context goes in the message's
 * `traceparent` header for the consumers.
 */
function tracePublish<T>(event: PublishedEvent, h: MsgHdrs, publish: () => Promise<T>): Promise<T> {
  const parent = event.metadata.traceparent;
  if (typeof parent !== "string") return publish();
  const span = startSpan(`event.publish ${event.type}`, {
    kind: SpanKind.PRODUCER,
    parent,
    attributes: {
      "messaging.system": "nats",
      "clone.event_id": event.eventId,
      "clone.position": event.position,
    },
  });
  h.set(TRACEPARENT, traceparentOfSpan(span) as string);
  return publish().then(
    (value) => {
      endSpan(span);
      return value;
    },
    (error: unknown) => {
      endSpan(span, error);
      throw error;
    },
  );
}

/**
 * Publishes `events` in order with `Nats-Msg-Id` = event id (through `acked-publisher.ts`: one ack inbox);
 * resolves (never rejects) with the acked prefix.
 */
export async function publishBatch(
  publisher: AckedPublisher,
  names: StreamNames,
  events: readonly PublishedEvent[],
  options: PublishBatchOptions = {},
): Promise<BatchResult> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const acks = events.map((event, i) => {
    const h = headers();
    for (const [key, value] of publishedEventHeaderValues(event)) h.set(key, value);
    h.set("Nats-Msg-Id", event.eventId);
    const previous = i === 0 ? undefined : events[i - 1];
    if (previous !== undefined) h.set("Nats-Expected-Last-Msg-Id", previous.eventId);
    const publish = () =>
      publisher.publish(names.eventSubject(event.type), encodePublishedEvent(event), h, timeoutMs);
    return tracingOn() ? tracePublish(event, h, publish) : publish();
  });
  const settled = await Promise.allSettled(acks);
  const published: PublishedEvent[] = [];
  for (const [i, outcome] of settled.entries()) {
    if (outcome.status === "rejected") return { published, error: outcome.reason };
    published.push(events[i] as PublishedEvent);
  }
  return { published };
}
