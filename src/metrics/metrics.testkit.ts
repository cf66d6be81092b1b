/** Test helpers: metrics with every scrape-time gauge fed by a fake source, and a scrape parsed. */
import type { ConsumerInfo, JetStreamManager } from "@nats-io/jetstream";
import { createMetrics, type Metrics } from "./create-metrics";
import type { BacklogDatabase } from "./outbox";
import { type Exposition, parseExposition } from "./parse-exposition";

/** A database whose backlog count answers `n` (or never answers when `n` is undefined). */
export function fakeBacklogDatabase(n: number | undefined): BacklogDatabase {
  return {
    async connect() {
      return {
        async query(text: string) {
          if (!text.startsWith("SELECT")) return { rows: [] };
          if (n === undefined) await new Promise<never>(() => {});
          return { rows: [{ n: String(n) }] };
        },
        release() {},
      };
    },
  };
}

/** A JetStream manager listing the given consumers for any stream. */
export function fakeJetStreamManager(
  consumers: readonly Pick<ConsumerInfo, "name" | "stream_name" | "num_pending" | "num_ack_pending">[],
): Pick<JetStreamManager, "consumers"> {
  const consumersApi = {
    list: (stream: string) => {
      const infos = consumers.filter((c) => c.stream_name === stream) as ConsumerInfo[];
      return {
        next: async () => infos,
        async *[Symbol.asyncIterator]() {
          yield* infos;
        },
      };
    },
  };
  return { consumers: consumersApi as unknown as JetStreamManager["consumers"] };
}

/**
 * Metrics of role `test` with the cache, backlog, consumer and replica-lag gauges tracked (on fakes), so all
 * are registered.
 */
export function createTrackedMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const metrics = createMetrics({ role: "test", defaultMetrics: options.defaultMetrics ?? false });
  metrics.queries.trackCache(() => ({ entries: 0, bytes: 0 }));
  metrics.queries.trackReplicaLag(() => 0);
  metrics.outbox.trackBacklog(fakeBacklogDatabase(0));
  metrics.deadLetters.trackDeadLetters(fakeBacklogDatabase(0));
  metrics.retention.trackCommandStore(fakeBacklogDatabase(0));
  metrics.jetstream.trackConsumers(fakeJetStreamManager([]), []);
  return metrics;
}

/** Scrapes a registry and parses the text. */
export async function scrape(metrics: Metrics): Promise<Exposition> {
  return parseExposition(await metrics.registry.metrics());
}
