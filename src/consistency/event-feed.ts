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
import {
  CONSUMER_API_TIMEOUT_MS,
  CONSUMER_EXPIRES_MS,
  type ConsumerRestarts,
  keepConsuming,
  onHeartbeatsMissed,
} from "../transport/jetstream/consumer-restarts";
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
 * Starts reading after `afterSeq`. The feed does not rely on the client's own recovery of the ordered
 * consumer (see consumer-restarts.ts): after each reconnect of `nc`, and when heartbeats are missed, it closes
 * its consumer and opens a new one after the last sequence it delivered, retrying until JetStream answers. A
 * sequence is never delivered twice nor out of order (what the old consumer still had in flight is dropped).
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
  const js = jetstream(nc, { timeout: CONSUMER_API_TIMEOUT_MS });
  /** The last sequence delivered. */
  let lastSeq = afterSeq;
  let current: ConsumerMessages | undefined;
  let restarts: ConsumerRestarts | undefined;
  /** Whether a consumer of generation `mine` was replaced since (the first is opened before `restarts` is set). */
  const stale = (mine: number): boolean => mine !== (restarts?.generation() ?? 0);

  async function open(mine: number): Promise<void> {
    const consumer = await js.consumers.get(stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: lastSeq + 1,
    });
    const messages = await consumer.consume({
      expires: CONSUMER_EXPIRES_MS,
      callback: (msg) => {
        if (stale(mine) || msg.seq <= lastSeq) return; // an old consumer's, or a repeat
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
    onHeartbeatsMissed(messages, () => {
      if (!stale(mine)) restarts?.startOver("heartbeats missed");
    });
  }

  restarts = await keepConsuming({
    nc,
    open,
    close: () => {
      const old = current;
      current = undefined;
      void old?.close().catch(() => {});
    },
    what: "event feed",
    fields: () => ({ afterSeq: lastSeq }),
    ...(log === undefined ? {} : { log }),
  });
  return {
    async stop() {
      await restarts?.stop();
      await current?.close().catch(() => {});
    },
  };
}
