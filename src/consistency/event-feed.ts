/**
 * The ordered event feed of the consistency coordinator: every event of the EVENTS stream, in stream order,
 * from a given sequence on. On JetStream it is an ordered consumer (no acks, flow-controlled, recreated by
 * the client at the right sequence after a reconnect); where it resumes is the coordinator's own checkpoint.
 */
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { decodePublishedEvent, type PublishedEvent } from "../outbox";
import { streamNames } from "../transport/jetstream/streams";

/** Receives events in order; `pending` is how many more the stream holds right now (0: caught up). */
export type FeedHandler = (event: PublishedEvent, seq: number, pending: number) => void;

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

/** Starts reading after `afterSeq`. */
export async function startJetStreamEventFeed(
  js: JetStreamClient,
  prefix: string,
  afterSeq: number,
  onEvent: FeedHandler,
  log?: (message: string, fields?: Record<string, unknown>) => void,
): Promise<EventFeed> {
  const consumer = await js.consumers.get(streamNames(prefix).eventStream, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: afterSeq + 1,
  });
  const messages = await consumer.consume({
    callback: (msg) => {
      let event: PublishedEvent;
      try {
        event = decodePublishedEvent(msg.data);
      } catch (error) {
        log?.("skipping an unreadable event", { seq: msg.seq, error: String(error) });
        return;
      }
      onEvent(event, msg.seq, msg.info.pending);
    },
  });
  return {
    async stop() {
      await messages.close().catch(() => {});
    },
  };
}
