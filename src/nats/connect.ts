/** Connecting to NATS the same way in every process. */
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";

/** A connection with its JetStream client and manager. */
export interface NatsHandles {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
}

/** The servers of a `NATS_URL`: one URL, or a comma-separated list of a cluster's nodes. */
export function natsServers(url: string): string[] {
  return url
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/**
 * Connects (reconnecting for ever after a loss) and opens JetStream. With several servers (a cluster's
 * nodes, also those the cluster announces) a lost connection is re-made to another node.
 */
export async function connectNats(url: string, name: string): Promise<NatsHandles> {
  const nc = await connect({
    servers: natsServers(url),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 5_000,
    timeout: 5_000,
    // No `new Error()` per request (JetStream API calls, consumer pulls) to keep its caller's stack for a
    // later timeout: the messages of these errors say what failed.
    noAsyncTraces: true,
  });
  const jsm = await jetstreamManager(nc);
  return { nc, js: jetstream(nc), jsm };
}
