/**
 * The NATS baseline: a JetStream publish awaiting its ack, as the gateway sends a command (same stream
 * settings: file storage, a duplicate window, a `Nats-Msg-Id` per message, a payload the size of an envelope),
 * on a stream of its own under the benchmark's prefix. It is one leg of the command path, not all of its
 * messaging: the push to the worker and the reply come on top.
 */
import {
  type JetStreamClient,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import type { NatsConnection } from "@nats-io/transport-node";
import { DUPLICATE_WINDOW_MS } from "../src/transport/jetstream/streams";
import type { Operation } from "./load";

const PARTITIONS = 16;

/** Creates `${prefix}_BENCH` and returns the publish operation. */
export async function prepareNatsPublishWorkload(nc: NatsConnection, prefix: string): Promise<Operation> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: `${prefix}_BENCH`,
    subjects: [`${prefix}.bench.*`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    max_msgs: 200_000,
  });
  const js: JetStreamClient = jetstream(nc);
  const payload = new TextEncoder().encode(JSON.stringify({ padding: "x".repeat(600) }));
  return async (lane) => {
    await js.publish(`${prefix}.bench.${lane % PARTITIONS}`, payload, { msgID: crypto.randomUUID() });
  };
}
