/**
 * A NATS connection per test file with its own subject and stream-name prefix (as nats.js tests share one
 * server through a helper), so files can run side by side and leave nothing behind.
 *
 * ```ts
 * let nats: TestNats;
 * beforeAll(async () => { nats = await createTestNats(); });
 * afterAll(() => nats.cleanup());
 * // streams: `${nats.prefix}_commands`, subjects: `${nats.prefix}.commands.>`
 * ```
 */
import { randomBytes } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { requireService } from "./require-service";
import { loadTestSettings } from "./settings";

/** A connection and a namespace owned by one test file. */
export interface TestNats {
  /** The connection; drained by {@link TestNats.cleanup}. */
  readonly nc: NatsConnection;
  /**
   * `t_<random>`: start every subject (`${prefix}.x.y`) and stream name (`${prefix}_x`) with it. KV buckets
   * and object stores named `${prefix}_x` are covered too (their streams are `KV_`/`OBJ_` + the name).
   */
  readonly prefix: string;
  /** The server URL. */
  readonly url: string;
  /** Deletes every JetStream stream under the prefix, then drains the connection. Safe to call twice. */
  cleanup(): Promise<void>;
}

/** Options of {@link createTestNats}. */
export interface TestNatsOptions {
  /** Server URL; default `loadTestSettings().natsUrl`. */
  readonly url?: string;
}

/**
 * Connects to the test NATS server and checks that JetStream is enabled.
 * @throws ServiceUnavailableError when the server cannot be reached or has no JetStream.
 */
export async function createTestNats(options: TestNatsOptions = {}): Promise<TestNats> {
  const url = options.url ?? loadTestSettings().natsUrl;
  const prefix = `t_${randomBytes(6).toString("hex")}`;
  const nc = await requireService("NATS", url, () =>
    connect({ servers: url, name: `test-${prefix}`, timeout: 5_000, maxReconnectAttempts: 0 }),
  );
  try {
    await requireService("NATS", url, () => jetstreamManager(nc));
  } catch (error) {
    await nc.close();
    throw error;
  }
  let cleaned: Promise<void> | undefined;
  return {
    nc,
    prefix,
    url,
    cleanup() {
      cleaned ??= cleanupPrefix(nc, prefix);
      return cleaned;
    },
  };
}

/** True for a stream created under `prefix`, directly or as a KV bucket or object store. */
export function ownsStream(prefix: string, streamName: string): boolean {
  return [prefix, `KV_${prefix}`, `OBJ_${prefix}`].some((p) => streamName.startsWith(p));
}

async function cleanupPrefix(nc: NatsConnection, prefix: string): Promise<void> {
  try {
    const jsm = await jetstreamManager(nc);
    const doomed: string[] = [];
    for await (const name of jsm.streams.names()) {
      if (ownsStream(prefix, name)) doomed.push(name);
    }
    for (const name of doomed) await jsm.streams.delete(name);
  } finally {
    if (!nc.isClosed()) await nc.drain();
  }
}
