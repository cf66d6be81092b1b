/**
 * {@link EventSource} on the JetStream EVENTS stream: one durable pull consumer per subscription name, shared
 * by every process that subscribes with that name (work is spread between them). nats-server 2.9 allows one
 * filter subject per consumer, so a subscription to several types filters the rest out on the client.
 *
 * At most `concurrency` events are handled at once, a limit kept here rather than by the consumer's
 * max_ack_pending: an event whose handler failed is nak'ed with a backoff (capped, jittered, growing with its
 * delivery count) and waits out that delay on the server without a handling slot, so the events behind it go
 * on (its own lane). One that fails deterministically, or too often, goes to the subscription's `deadLetter`
 * and is acked.
 */

import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import { type Logger, silentLogger } from "../logging";
import { decodePublishedEvent } from "../outbox";
import { isNotFound, streamNames } from "../transport/jetstream/streams";
import type { EventSource, EventSubscription } from "./event-source";
import { afterFailure } from "./failure-lane";

/** Unacked events a consumer may have: those being handled and those waiting out a backoff. */
const MAX_ACK_PENDING = 1_000;

/** Creates the JetStream event source for a prefix. */
export function createJetStreamEventSource(options: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  prefix: string;
  ackWaitMs?: number;
  log?: Logger;
}): EventSource {
  const names = streamNames(options.prefix);
  const log = options.log ?? silentLogger;
  return {
    async subscribe(name, types, handler, subscribeOptions): Promise<EventSubscription> {
      const concurrency = Math.max(1, subscribeOptions?.concurrency ?? 1);
      const filter = types.length === 1 ? names.eventSubject(types[0] as string) : names.eventWildcard;
      const wanted = new Set(types);
      const config = {
        durable_name: name,
        filter_subject: filter,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(options.ackWaitMs ?? 30_000),
        max_ack_pending: MAX_ACK_PENDING,
        max_deliver: -1,
      };
      try {
        const info = await options.jsm.consumers.info(names.eventStream, name);
        if (info.config.max_ack_pending !== MAX_ACK_PENDING) {
          // A consumer made before events had their own retry lane: let waiting events leave room for others.
          await options.jsm.consumers.update(names.eventStream, name, { max_ack_pending: MAX_ACK_PENDING });
        }
      } catch (error) {
        if (!isNotFound(error)) throw error;
        await options.jsm.consumers.add(names.eventStream, config).catch((e: unknown) => {
          if (!/already in use|already exists/i.test(String(e))) throw e;
        });
      }
      const consumer = await options.js.consumers.get(names.eventStream, name);
      const inFlight = new Set<Promise<void>>();
      let stopped = false;
      let freed: () => void = () => {};

      async function handle(msg: JsMsg): Promise<void> {
        let event: ReturnType<typeof decodePublishedEvent>;
        try {
          event = decodePublishedEvent(msg.data);
        } catch (error) {
          log.warn({ consumer: name, seq: msg.seq, error: String(error) }, "dropping an undecodable event");
          msg.term();
          return;
        }
        if (wanted.size > 0 && !wanted.has(event.type)) return msg.ack();
        try {
          await handler(event);
          msg.ack();
        } catch (error) {
          const next = await afterFailure(name, event, error, msg.info.deliveryCount, subscribeOptions, log);
          if (next === "done") msg.ack();
          else msg.nak(next.retryInMs);
        }
      }

      const messages = await consumer.consume({ max_messages: concurrency });
      const loop = (async () => {
        for await (const msg of messages) {
          if (stopped) break; // left unacked: delivered again to whoever consumes next
          while (inFlight.size >= concurrency) {
            await new Promise<void>((resolve) => {
              freed = resolve;
            });
          }
          if (stopped) break;
          const done: Promise<void> = handle(msg)
            .catch((error: unknown) => {
              log.warn({ consumer: name, error: String(error) }, "event handling failed");
              msg.nak(1_000);
            })
            .finally(() => {
              inFlight.delete(done);
              freed();
            });
          inFlight.add(done);
        }
      })().catch((error: unknown) =>
        log.warn({ consumer: name, error: String(error) }, "event subscription ended"),
      );
      return {
        async stop() {
          stopped = true;
          await messages.close().catch(() => {});
          while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
          freed();
          await loop;
        },
      };
    },
  };
}
