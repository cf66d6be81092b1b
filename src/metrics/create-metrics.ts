/**
 * One Prometheus registry per process, with every metric of the service as a typed handle.
 *
 * Names follow the Prometheus conventions: a `clone_` prefix, base units in the name (`_seconds`, `_bytes`),
 * counters ending in `_total` (see lint.ts, checked by a unit test). Every series carries a `role` label
 * (`gateway`, `worker`, `relay`, `consistency`, or `all` when one process runs every role). The process and
 * runtime metrics of prom-client (`process_*`, `nodejs_*`) keep their standard names, so stock dashboards work.
 */
import { collectDefaultMetrics, Registry } from "prom-client";
import { type CollectFailures, createCollectFailures } from "./collect";
import { type CommandMetrics, createCommandMetrics } from "./commands";
import { createDeadLetterMetrics, type DeadLetterMetrics } from "./dead-letters";
import { createEventMetrics, type EventMetrics } from "./events";
import { createJetStreamMetrics, type JetStreamMetrics } from "./jetstream";
import { createOutboxMetrics, type OutboxMetrics } from "./outbox";
import { createQueryMetrics, type QueryMetrics } from "./queries";
import { createRetentionMetrics, type RetentionMetrics } from "./retention";
import { createRpcMetrics, type RpcMetrics } from "./rpc";
import { createViewMetrics, type ViewMetrics } from "./views";

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** The process's role, set as the `role` label of every series. */
  readonly role: string;
  /** Also collect prom-client's process and Node.js runtime metrics. Default true. */
  readonly defaultMetrics?: boolean;
}

/** The metrics of one process. */
export interface Metrics {
  readonly role: string;
  /** The registry to serve (see `startMetricsServer`); `registry.contentType` is the exposition type. */
  readonly registry: Registry;
  readonly commands: CommandMetrics;
  readonly queries: QueryMetrics;
  readonly views: ViewMetrics;
  readonly events: EventMetrics;
  readonly outbox: OutboxMetrics;
  readonly deadLetters: DeadLetterMetrics;
  readonly jetstream: JetStreamMetrics;
  /** The command store's size and what retention pruned. */
  readonly retention: RetentionMetrics;
  readonly rpc: RpcMetrics;
  /** `clone_metrics_collect_failures_total{collector}`: scrape-time reads that failed or timed out. */
  readonly collectFailures: CollectFailures;
  /** Scrapes the registry: the exposition text and its content type (the gateway's `MetricsSource`). */
  render(): Promise<{ readonly contentType: string; readonly body: string }>;
}

/**
 * How often the event-loop lag (`nodejs_eventloop_lag_*`) is sampled, ms. prom-client's default, 10, keeps a
 * timer firing 100 times a second, which costs Bun about 4 ms of CPU per second in every process, idle or busy;
 * sampled every 100 ms it costs about 1, and the lag of a metric scraped every 15 s is still seen.
 */
const eventLoopSampleMs = 100;

/** Creates the registry of this process and every metric on it. Call once per process. */
export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ role: options.role });
  if (options.defaultMetrics ?? true)
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: eventLoopSampleMs });
  const collectFailures = createCollectFailures(registry);
  return {
    role: options.role,
    registry,
    commands: createCommandMetrics(registry),
    queries: createQueryMetrics(registry),
    views: createViewMetrics(registry),
    events: createEventMetrics(registry),
    outbox: createOutboxMetrics(registry, collectFailures),
    deadLetters: createDeadLetterMetrics(registry, collectFailures),
    jetstream: createJetStreamMetrics(registry, collectFailures),
    retention: createRetentionMetrics(registry, collectFailures),
    rpc: createRpcMetrics(registry),
    collectFailures,
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
