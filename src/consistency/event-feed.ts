/**
 * The ordered event feed of the consistency coordinator: every event of the EVENTS stream, in stream order,
 * from a given sequence on. On JetStream it is an ordered consumer (no acks, flow-controlled), recreated by the
 * feed itself after the last sequence it delivered whenever the connection comes back; where it resumes at
 * start is the coordinator's own checkpoint.
 */

import { type ConsumerMessages, DeliverPolicy, type JetStreamManager, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import type { Logger } from "../logging";
import { decodePublishedEvent, type PublishedEvent } from "../outbox";
import { TRACEPARENT, tracingOn } from "../tracing";
import { streamNames } from "../transport/jetstream/streams";

/**
 * Receives events in order; `pending` is how many more the stream holds right now (0: caught up);
 * `traceparent` is the relay's publish span (the message's header) while tracing is on.
 */
export type FeedHandler = (event: PublishedEvent, seq: number, pending: number, traceparent?: string) => void;

/** A running feed. */
export interface EventFeed {
  stop(): Promise<void>;
}

/** Bounds of the stream, to tell a usable checkpoint from one the stream no longer covers. */
export interface StreamBounds {
  readonly firstSeq: number;
  readonly lastSeq: number;
}

/** Reads the EVENTS stream's first and last sequence. */
export async function eventStreamBounds(jsm: JetStreamManager, prefix: string): Promise<StreamBounds> {
  const info = await jsm.streams.info(streamNames(prefix).eventStream);
  return { firstSeq: info.state.first_seq, lastSeq: info.state.last_seq };
}

/**
 * How long each pull of the feed waits (ms); the server's idle heartbeat is half of it, and two missed
 * heartbeats (a consumer lost without a reconnect the client saw) make the feed start over. The client's
 * default (30 s) also set how long its own recovery backed off after one failed consumer lookup: read views
 * stood still for ~44 s after a NATS restart under load.
 */
const FEED_EXPIRES_MS = 4_000;
/** How long one JetStream API request of the feed (creating its consumer) may take. */
const FEED_API_TIMEOUT_MS = 2_000;
/** Time between attempts to recreate the feed's consumer while JetStream does not answer. */
const FEED_RETRY_MS = 250;

/**
 * Starts reading after `afterSeq`. The feed does not rely on the client's own recovery of the ordered
 * consumer (it waits for heartbeats to be missed, then backs off for `expires` after any failed lookup): after
 * each reconnect of `nc`, and when heartbeats are missed, it closes its consumer and opens a new one after the
 * last sequence it delivered, retrying every {@link FEED_RETRY_MS} until JetStream answers. A sequence is never
 * delivered twice nor out of order (what the old consumer still had in flight is dropped).
 */
export async function startJetStreamEventFeed(
  nc: NatsConnection,
  prefix: string,
  afterSeq: number,
  onEvent: FeedHandler,
  log?: Logger,
): Promise<EventFeed> {
  const stream = streamNames(prefix).eventStream;
  // A lookup lost to a disconnect fails after this rather than the client's 5 s default, and is retried.
  const js = jetstream(nc, { timeout: FEED_API_TIMEOUT_MS });
  /** The last sequence delivered. */
  let lastSeq = afterSeq;
  let current: ConsumerMessages | undefined;
  /** Bumped at each start-over: messages of an older consumer are dropped. */
  let generation = 0;
  let stopped = false;
  /** The start-over in progress, and whether another was asked for meanwhile. */
  let restarting: Promise<void> | undefined;
  let again = false;

  async function open(): Promise<void> {
    const mine = generation;
    const consumer = await js.consumers.get(stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: lastSeq + 1,
    });
    const messages = await consumer.consume({
      expires: FEED_EXPIRES_MS,
      callback: (msg) => {
        if (mine !== generation || msg.seq <= lastSeq) return; // an old consumer's, or a repeat
        lastSeq = msg.seq;
        let event: PublishedEvent;
        try {
          event = decodePublishedEvent(msg.data);
        } catch (error) {
          log?.warn({ seq: msg.seq, error: String(error) }, "skipping an unreadable event");
          return;
        }
        onEvent(event, msg.seq, msg.info.pending, tracingOn() ? msg.headers?.get(TRACEPARENT) : undefined);
      },
    });
    current = messages;
    void (async () => {
      for await (const status of messages.status()) {
        if (status.type === "heartbeats_missed" && mine === generation) startOver("heartbeats missed");
      }
    })().catch(() => {});
  }

  function startOver(reason: string): void {
    if (stopped) return;
    if (restarting) {
      again = true;
      return;
    }
    restarting = (async () => {
      do {
        again = false;
        generation++;
        const old = current;
        current = undefined;
        void old?.close().catch(() => {});
        for (let attempt = 0; !stopped; attempt++) {
          try {
            await open();
            log?.info({ reason, afterSeq: lastSeq, attempts: attempt + 1 }, "event feed resumed");
            break;
          } catch (error) {
            if (attempt === 0)
              log?.warn({ reason, error: String(error) }, "event feed cannot resume yet; retrying");
            await Bun.sleep(FEED_RETRY_MS);
          }
        }
      } while (again && !stopped);
    })().finally(() => {
      restarting = undefined;
    });
  }

  await open();
  const statuses = nc.status();
  void (async () => {
    for await (const status of statuses) {
      if (stopped) break;
      if (status.type === "reconnect") startOver("NATS reconnected");
    }
  })().catch(() => {});
  return {
    async stop() {
      stopped = true;
      (statuses as { stop?: () => void }).stop?.();
      await restarting;
      await current?.close().catch(() => {});
    },
  };
}
