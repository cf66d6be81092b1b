/**
 * JetStream streams and consumers of the command and event paths, named under one prefix so that several
 * deployments (or test files) share a NATS cluster without touching each other.
 */
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";

/** Subject and stream names under a prefix. */
export interface StreamNames {
  readonly commandStream: string;
  readonly eventStream: string;
  /** Subject of a command partition. */
  commandSubject(partition: number): string;
  /** Subject of an event type, e.g. `clone.evt.user.created`. */
  eventSubject(eventType: string): string;
  /** Wildcard of all events. */
  readonly eventWildcard: string;
  /** Durable consumer name of a command partition. */
  commandConsumer(partition: number): string;
  /** Reply subject of one gateway instance. */
  replySubject(gatewayId: string): string;
  /** Core subject on which workers wake the outbox relay after committing events. */
  readonly outboxWake: string;
}

/** Names for a prefix (letters, digits, `_` and `-`). */
export function streamNames(prefix: string): StreamNames {
  return {
    commandStream: `${prefix}_COMMANDS`,
    eventStream: `${prefix}_EVENTS`,
    commandSubject: (p) => `${prefix}.cmd.${p}`,
    eventSubject: (t) => `${prefix}.evt.${t}`,
    eventWildcard: `${prefix}.evt.>`,
    commandConsumer: (p) => `cmd-${p}`,
    replySubject: (id) => `${prefix}.reply.${id}`,
    outboxWake: `${prefix}.outbox.wake`,
  };
}

/** How long JetStream remembers a `Nats-Msg-Id` to drop a re-sent copy. */
export const DUPLICATE_WINDOW_MS = 120_000;

/**
 * Creates (or updates) the COMMANDS and EVENTS streams with `replicas` copies (`NATS_STREAM_REPLICAS`: 3 on
 * a 3-node cluster; their consumers inherit it). Safe to call from every process at start.
 */
export async function ensureStreams(jsm: JetStreamManager, prefix: string, replicas = 1): Promise<void> {
  const names = streamNames(prefix);
  await upsertStream(jsm, {
    name: names.commandStream,
    subjects: [`${prefix}.cmd.*`],
    // A work queue: a command leaves the stream once a worker acked it (after its transaction committed).
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    max_age: nanos(24 * 3600_000),
    num_replicas: replicas,
  });
  await upsertStream(jsm, {
    name: names.eventStream,
    subjects: [names.eventWildcard],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    max_age: nanos(7 * 24 * 3600_000),
    num_replicas: replicas,
  });
}

type StreamConfigInput = Parameters<JetStreamManager["streams"]["add"]>[0];

async function upsertStream(
  jsm: JetStreamManager,
  config: StreamConfigInput & { name: string },
): Promise<void> {
  try {
    await jsm.streams.info(config.name);
    await jsm.streams.update(config.name, config);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    try {
      await jsm.streams.add(config);
    } catch (addError) {
      // Another process created it between our info and add.
      if (!/already in use|already exists/i.test(String(addError))) throw addError;
    }
  }
}

/**
 * Recreates a partition's durable consumer from the first message still in the stream.
 *
 * The COMMANDS stream is a work queue, so what is left in it is exactly what no worker acked. Starting a fresh
 * consumer at DeliverAll hands a new owner those commands in their original order, before any newer one: an
 * aggregate's commands are never reordered when a partition changes hands. Commands that were applied but whose
 * ack was lost come again and are answered from the stored result.
 */
export async function resetPartitionConsumer(
  jsm: JetStreamManager,
  prefix: string,
  partition: number,
  options: { maxAckPending: number; ackWaitMs: number },
): Promise<string> {
  const names = streamNames(prefix);
  const durable = names.commandConsumer(partition);
  try {
    await jsm.consumers.delete(names.commandStream, durable);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  await jsm.consumers.add(names.commandStream, {
    durable_name: durable,
    filter_subject: names.commandSubject(partition),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: options.maxAckPending,
    ack_wait: nanos(options.ackWaitMs),
    max_deliver: -1,
  });
  return durable;
}

/** True when a JetStream API error says the stream or consumer does not exist. */
export function isNotFound(error: unknown): boolean {
  if (error instanceof JetStreamApiError) return error.status === 404 || /not found/i.test(error.message);
  return /not found/i.test(String(error));
}
