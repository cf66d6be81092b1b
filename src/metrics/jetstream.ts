/**
 * JetStream consumer metrics, read from the server at scrape time: messages a consumer has yet to receive
 * (`num_pending`) and messages delivered but not acknowledged (`num_ack_pending`), per stream and consumer.
 * Consumers that disappear (a command partition changing owner) disappear from the gauges too.
 */
import type { ConsumerInfo, JetStreamManager } from "@nats-io/jetstream";
import { Gauge, type Registry } from "prom-client";
import { type CollectFailures, guardedRead, sourcesOf } from "./collect";

/** Options of {@link JetStreamMetrics.trackConsumers}. */
export interface ConsumerTrackingOptions {
  /** Longest the listing of one stream's consumers may take, ms. Default 2000. */
  readonly timeoutMs?: number;
}

/** JetStream metrics and the helpers that feed them. */
export interface JetStreamMetrics {
  /** `clone_jetstream_consumer_pending{stream, consumer}`: messages not yet delivered to the consumer. */
  readonly consumerPending: Gauge<"stream" | "consumer">;
  /** `clone_jetstream_consumer_ack_pending{stream, consumer}`: delivered, not yet acknowledged. */
  readonly consumerAckPending: Gauge<"stream" | "consumer">;
  /**
   * Lists the consumers of `streams` at every scrape (the gauges are registered from the first call on);
   * returns a function that stops it.
   */
  trackConsumers(
    jsm: Pick<JetStreamManager, "consumers">,
    streams: readonly string[],
    options?: ConsumerTrackingOptions,
  ): () => void;
}

/** Creates the JetStream metrics on `registry`. */
export function createJetStreamMetrics(registry: Registry, failures: CollectFailures): JetStreamMetrics {
  type Source = {
    jsm: Pick<JetStreamManager, "consumers">;
    streams: readonly string[];
    timeoutMs: number;
  };
  let scrape: Promise<ConsumerInfo[]> | undefined;

  /** One listing per scrape, shared by both gauges (their collect() run together). */
  function listAll(): Promise<ConsumerInfo[]> {
    scrape ??= (async () => {
      const all: ConsumerInfo[] = [];
      const lists = [...tracked.sources].flatMap((s) =>
        s.streams.map((stream) =>
          guardedRead(
            failures,
            "clone_jetstream_consumer_pending",
            s.timeoutMs,
            async () => {
              const infos: ConsumerInfo[] = [];
              for await (const info of s.jsm.consumers.list(stream)) infos.push(info);
              return infos;
            },
            () => {},
          ),
        ),
      );
      for (const infos of await Promise.all(lists)) if (infos) all.push(...infos);
      return all;
    })().finally(() => {
      scrape = undefined;
    });
    return scrape;
  }

  const consumerPending = new Gauge({
    name: "clone_jetstream_consumer_pending",
    help: "Messages of a JetStream stream not yet delivered to a consumer (num_pending).",
    labelNames: ["stream", "consumer"],
    registers: [],
    async collect() {
      const infos = await listAll();
      this.reset();
      for (const i of infos) this.set({ stream: i.stream_name, consumer: i.name }, i.num_pending);
    },
  });
  const consumerAckPending = new Gauge({
    name: "clone_jetstream_consumer_ack_pending",
    help: "Messages delivered to a JetStream consumer and not yet acknowledged (num_ack_pending).",
    labelNames: ["stream", "consumer"],
    registers: [],
    async collect() {
      const infos = await listAll();
      this.reset();
      for (const i of infos) this.set({ stream: i.stream_name, consumer: i.name }, i.num_ack_pending);
    },
  });
  const tracked = sourcesOf<Source>(registry, [consumerPending, consumerAckPending]);
  return {
    consumerPending,
    consumerAckPending,
    trackConsumers(jsm, streams, options = {}) {
      return tracked.add({ jsm, streams: [...streams], timeoutMs: options.timeoutMs ?? 2_000 });
    },
  };
}
