/** Connecting to NATS the same way in every process. */
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";

/** A connection with its JetStream client and manager. */
export interface NatsHandles {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
}

/** Connects (reconnecting for ever after a loss) and opens JetStream. */
export async function connectNats(url: string, name: string): Promise<NatsHandles> {
  const nc = await connect({
    servers: url,
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
