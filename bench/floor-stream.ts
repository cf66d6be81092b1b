/**
 * The stream of bench:commands' messaging floor (messaging-floor.ts): a stream of its own, named and configured
 * as the real COMMANDS stream is (src/transport/jetstream/streams.ts: work-queue retention, file storage, the
 * same duplicate window, one subject per partition) under `<prefix>_floor`, so that its streams and subjects
 * are the benchmark prefix's (removed with it) without touching the service's.
 */
import { type JetStreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import { connectNats, type NatsHandles } from "../src/nats";
import { DUPLICATE_WINDOW_MS, type StreamNames, streamNames } from "../src/transport/jetstream/streams";

/** Partitions of the floor's stream: the service's default (COMMAND_PARTITIONS). */
export const FLOOR_PARTITIONS = 16;

/** The prefix the floor's names are made under, within the benchmark's prefix. */
export function floorPrefix(prefix: string): string {
  return `${prefix}_floor`;
}

/** The floor's names: its stream is `commandStream`, its partitions' subjects `commandSubject(p)`. */
export function floorNames(prefix: string): StreamNames {
  return streamNames(floorPrefix(prefix));
}

/** Creates the floor's stream. */
export async function createFloorStream(jsm: JetStreamManager, prefix: string): Promise<void> {
  const names = floorNames(prefix);
  await jsm.streams.add({
    name: names.commandStream,
    subjects: [`${floorPrefix(prefix)}.cmd.*`],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    max_age: nanos(3600_000),
  });
}

/** Deletes the floor's stream (and its consumers) if it is there. */
export async function deleteFloorStream(jsm: JetStreamManager, prefix: string): Promise<void> {
  await jsm.streams.delete(floorNames(prefix).commandStream).catch(() => false);
}

/** A floor child process's connection: its `<nats-url> <prefix>` arguments, connected, and the floor's names. */
export interface FloorConnection {
  readonly nats: NatsHandles;
  readonly prefix: string;
  readonly names: StreamNames;
}

/** Connects a floor child process (named `name` on the server) from its command line. */
export async function connectFloorChild(
  name: string,
  args = process.argv.slice(2),
): Promise<FloorConnection> {
  const [natsUrl, prefix] = args;
  if (natsUrl === undefined || prefix === undefined) throw new Error(`usage: ${name} <nats-url> <prefix>`);
  return { nats: await connectNats(natsUrl, name), prefix, names: floorNames(prefix) };
}
