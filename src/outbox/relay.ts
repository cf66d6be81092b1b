/**
 * The outbox relay to JetStream: the relay loop (relay-loop.ts) publishing to the EVENTS stream, each event
 * exactly once within JetStream's duplicate window, with leadership held by an advisory lock on a dedicated
 * connection (relay-session.ts), woken by NOTIFY on that connection.
 *
 * A crash between publishing and checkpointing re-publishes the batch on restart; JetStream drops the copies
 * by `Nats-Msg-Id` = event id within its duplicate window (DUPLICATE_WINDOW_MS). Consumers must still
 * tolerate a repeat after a longer outage, e.g. by the event's position.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { silentLogger } from "../logging";
import { createAckedPublisher } from "../transport/jetstream/acked-publisher";
import { streamNames } from "../transport/jetstream/streams";
import { publishBatch } from "./publish-batch";
import { type OutboxRelay, type RelayDriver, type RelayLoopOptions, runRelay } from "./relay-loop";
import { openRelaySession, type RelaySession } from "./relay-session";

export type { OutboxRelay } from "./relay-loop";

/** Options of {@link startOutboxRelay}: where to read and publish, and the loop's settings. */
export interface OutboxRelayOptions extends RelayLoopOptions {
  readonly databaseUrl: string;
  /** The NATS connection events are published on (to the EVENTS stream). */
  readonly nc: NatsConnection;
  /** Stream and subject prefix (config `NATS_PREFIX`). */
  readonly prefix: string;
  /** Ack timeout per published message, ms. Default 5000. */
  readonly publishTimeoutMs?: number;
}

/**
 * Starts a relay. Resolves after its first attempt to take the leadership, so of relays started together
 * exactly one reports {@link OutboxRelay.isLeader}. Never rejects for an unreachable Postgres or NATS: it
 * logs and keeps retrying.
 * @throws ConfigError for a bad `pollMs` or `batchSize`, or when `pollMs` is left to the configuration and
 * the environment is invalid.
 */
export async function startOutboxRelay(options: OutboxRelayOptions): Promise<OutboxRelay> {
  const name = options.name ?? "default";
  const log = (options.log ?? silentLogger).child({ relay: name });
  const names = streamNames(options.prefix);
  let session: RelaySession | undefined;
  let wake = () => {};

  async function currentSession(): Promise<RelaySession> {
    if (session !== undefined && !session.lost()) return session;
    await session?.close();
    session = undefined;
    session = await openRelaySession({
      databaseUrl: options.databaseUrl,
      name,
      onNotify: () => wake(),
      onLost: (error) => {
        log.warn({ error: error?.message }, "outbox relay lost its database connection");
        wake();
      },
    });
    return session;
  }

  const driver: RelayDriver = {
    target: "JetStream",
    async lead() {
      const s = await currentSession();
      if (s.leading()) return { client: s.client, done: () => {} };
      if (!(await s.tryLead())) return undefined;
      log.info("outbox relay is the leader");
      return { client: s.client, done: () => {} };
    },
    leading: () => session?.leading() ?? false,
    lost: () => session?.lost() ?? false,
    close: async () => {
      await session?.close();
    },
  };
  const publisher = createAckedPublisher(options.nc);
  const relay = await runRelay(options, driver, {
    publish: (events) =>
      publishBatch(publisher, names, events, {
        ...(options.publishTimeoutMs === undefined ? {} : { timeoutMs: options.publishTimeoutMs }),
      }),
    setWake: (fn) => {
      wake = fn;
    },
  });
  return {
    ...relay,
    async stop() {
      await relay.stop();
      publisher.close();
    },
  };
}
