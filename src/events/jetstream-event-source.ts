/**
 * {@link EventSource} on the JetStream EVENTS stream: one durable pull consumer per subscription name, shared
 * by every process that subscribes with that name (work is spread between them). nats-server 2.9 allows one
 * filter subject per consumer, so a subscription to several types filters the rest out on the client.
 */
import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import { decodePublishedEvent } from "../outbox";
import { isNotFound, streamNames } from "../transport/jetstream/streams";
import type { EventSource, EventSubscription } from "./event-source";

/** Creates the JetStream event source for a prefix. */
export function createJetStreamEventSource(options: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  prefix: string;
  ackWaitMs?: number;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}): EventSource {
  const names = streamNames(options.prefix);
  return {
    async subscribe(name, types, handler, subscribeOptions): Promise<EventSubscription> {
      const concurrency = subscribeOptions?.concurrency ?? 1;
      const filter = types.length === 1 ? names.eventSubject(types[0] as string) : names.eventWildcard;
      const wanted = new Set(types);
      try {
        await options.jsm.consumers.info(names.eventStream, name);
      } catch (error) {
        if (!isNotFound(error)) throw error;
        await options.jsm.consumers
          .add(names.eventStream, {
            durable_name: name,
            filter_subject: filter,
            ack_policy: AckPolicy.Explicit,
            deliver_policy: DeliverPolicy.All,
            ack_wait: nanos(options.ackWaitMs ?? 30_000),
            max_ack_pending: Math.max(concurrency, 1),
            max_deliver: -1,
          })
          .catch((e: unknown) => {
            if (!/already in use|already exists/i.test(String(e))) throw e;
          });
      }
      const consumer = await options.js.consumers.get(names.eventStream, name);
      const inFlight = new Set<Promise<void>>();
      const messages = await consumer.consume({
        max_messages: concurrency,
        callback: (msg) => {
          const done = (async () => {
            try {
              const event = decodePublishedEvent(msg.data);
              if (wanted.size > 0 && !wanted.has(event.type)) return msg.ack();
              await handler(event);
              msg.ack();
            } catch (error) {
              options.log?.("event handler failed; will retry", { consumer: name, error: String(error) });
              msg.nak(1000);
            }
          })().finally(() => inFlight.delete(done));
          inFlight.add(done);
        },
      });
      return {
        async stop() {
          await messages.close().catch(() => {});
          while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
        },
      };
    },
  };
}
