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
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
} from "@nats-io/jetstream";
import { type NatsConnection, nanos } from "@nats-io/nats-core";
import { type Logger, silentLogger } from "../logging";
import { decodePublishedEvent } from "../outbox";
import {
  CONSUMER_API_TIMEOUT_MS,
  CONSUMER_EXPIRES_MS,
  type ConsumerRestarts,
  keepConsuming,
  onHeartbeatsMissed,
} from "../transport/jetstream/consumer-restarts";
import { isNotFound, streamNames } from "../transport/jetstream/streams";
import type { EventSource, EventSubscription } from "./event-source";
import { afterFailure } from "./failure-lane";

/** Unacked events a consumer may have: those being handled and those waiting out a backoff. */
const MAX_ACK_PENDING = 1_000;

/**
 * How long the server waits for an event's ack before it delivers the event again (a handler at work tells it
 * so every third of it): an event whose ack a NATS crash lost, or that the crash lost on its way, comes again
 * after this. The handlers are idempotent (the document processor's command id is derived from the document).
 */
const DEFAULT_ACK_WAIT_MS = 10_000;

/**
 * Creates the JetStream event source for a prefix. With `nc`, each subscription starts its consumer over after
 * every reconnect (see consumer-restarts.ts), so events flow again within a second of JetStream answering.
 */
export function createJetStreamEventSource(options: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  nc?: NatsConnection;
  prefix: string;
  ackWaitMs?: number;
  log?: Logger;
}): EventSource {
  const names = streamNames(options.prefix);
  // A consumer lookup lost to a disconnect fails after this rather than the client's 5 s default, and is retried.
  const js =
    options.nc === undefined ? options.js : jetstream(options.nc, { timeout: CONSUMER_API_TIMEOUT_MS });
  const log = options.log ?? silentLogger;
  return {
    async subscribe(name, types, handler, subscribeOptions): Promise<EventSubscription> {
      const concurrency = Math.max(1, subscribeOptions?.concurrency ?? 1);
      const filter = types.length === 1 ? names.eventSubject(types[0] as string) : names.eventWildcard;
      const wanted = new Set(types);
      const ackWaitMs = options.ackWaitMs ?? DEFAULT_ACK_WAIT_MS;
      const config = {
        durable_name: name,
        filter_subject: filter,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(ackWaitMs),
        max_ack_pending: MAX_ACK_PENDING,
        max_deliver: -1,
      };
      try {
        const info = await options.jsm.consumers.info(names.eventStream, name);
        if (info.config.max_ack_pending !== MAX_ACK_PENDING || info.config.ack_wait !== config.ack_wait) {
          // A consumer made before events had their own retry lane (let waiting events leave room for others),
          // or before the shorter ack wait (an event whose ack a NATS crash lost comes again sooner).
          await options.jsm.consumers.update(names.eventStream, name, {
            max_ack_pending: MAX_ACK_PENDING,
            ack_wait: config.ack_wait,
          });
        }
      } catch (error) {
        if (!isNotFound(error)) throw error;
        await options.jsm.consumers.add(names.eventStream, config).catch((e: unknown) => {
          if (!/already in use|already exists/i.test(String(e))) throw e;
        });
      }
      const inFlight = new Set<Promise<void>>();
      let stopped = false;
      /** Loops waiting for a handling slot. */
      const waiting: Array<() => void> = [];
      const freed = (): void => {
        for (const wake of waiting.splice(0)) wake();
      };

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
        // A handler may take longer than the ack wait: the server is told it is still at work.
        const working = setInterval(() => msg.working(), Math.max(1_000, ackWaitMs / 3));
        try {
          await handler(event);
          msg.ack();
        } catch (error) {
          const next = await afterFailure(name, event, error, msg.info.deliveryCount, subscribeOptions, log);
          if (next === "done") msg.ack();
          else msg.nak(next.retryInMs);
        } finally {
          clearInterval(working);
        }
      }

      let current: ConsumerMessages | undefined;
      let restarts: ConsumerRestarts | undefined;
      /** Whether the consumer of generation `mine` was replaced since, or the subscription stopped. */
      const stale = (mine: number): boolean => stopped || mine !== (restarts?.generation() ?? 0);
      const loops = new Set<Promise<void>>();

      /** Handles what `messages` delivers, `concurrency` at a time; a stale consumer's are given back. */
      async function run(messages: ConsumerMessages, mine: number): Promise<void> {
        for await (const msg of messages) {
          while (!stale(mine) && inFlight.size >= concurrency) {
            await new Promise<void>((resolve) => waiting.push(resolve));
          }
          if (stale(mine)) {
            msg.nak(); // delivered again at once, to the consumer's next pull
            continue;
          }
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
      }

      async function open(mine: number): Promise<void> {
        const consumer = await js.consumers.get(names.eventStream, name);
        const messages = await consumer.consume({ max_messages: concurrency, expires: CONSUMER_EXPIRES_MS });
        current = messages;
        onHeartbeatsMissed(messages, () => {
          if (!stale(mine)) restarts?.startOver("heartbeats missed");
        });
        const loop: Promise<void> = run(messages, mine)
          .catch((error: unknown) =>
            log.warn({ consumer: name, error: String(error) }, "event subscription ended"),
          )
          .finally(() => loops.delete(loop));
        loops.add(loop);
      }

      const close = (): void => {
        const old = current;
        current = undefined;
        freed(); // a loop waiting for a slot sees it is stale
        void old?.close().catch(() => {});
      };
      restarts =
        options.nc === undefined
          ? undefined
          : await keepConsuming({
              nc: options.nc,
              open,
              close,
              what: `event subscription ${name}`,
              log,
            });
      if (restarts === undefined) await open(0);
      return {
        async stop() {
          stopped = true;
          await restarts?.stop();
          close();
          while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
          await Promise.allSettled([...loops]);
        },
      };
    },
  };
}
