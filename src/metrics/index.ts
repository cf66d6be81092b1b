/**
 * Prometheus metrics: one registry per process ({@link createMetrics}), the RPC interceptor, and the
 * `/metrics`, `/healthz`, `/readyz` endpoints. The alert rules and the Grafana dashboard over these metrics
 * live in `ops/`.
 */
export type { CollectFailures } from "./collect";
export type { CommandMetrics, OutcomeLike } from "./commands";
export { errorCode, outcomeLabel, timeExecution } from "./commands";
export type { Metrics, MetricsOptions } from "./create-metrics";
export { createMetrics } from "./create-metrics";
export type { DeadLetterMetrics } from "./dead-letters";
export type { EventMetrics } from "./events";
export type { ConsumerTrackingOptions, JetStreamMetrics } from "./jetstream";
export type { MetricDescription } from "./lint";
export { describeMetrics, lintMetric, lintRegistry, metricPrefix } from "./lint";
export type {
  BacklogClient,
  BacklogDatabase,
  BacklogOptions,
  OutboxMetrics,
  PublishedEventLike,
} from "./outbox";
export { countBacklog } from "./outbox";
export type { CacheSizeStats, QueryMetrics } from "./queries";
export type { RefreshReport } from "./refresh-hooks";
export { reconcileMetrics, refreshMetrics } from "./refresh-hooks";
export type { RetainedTable, RetentionMetrics } from "./retention";
export type { InterceptorMetrics, RpcMetrics } from "./rpc";
export { metricsInterceptor } from "./rpc";
export type {
  HealthCheck,
  HealthReport,
  MetricsHandlerOptions,
  MetricsServer,
  MetricsServerOptions,
} from "./server";
export { createMetricsHandler, startMetricsServer } from "./server";
export type { RefreshMode, RefreshResultLike, RefreshTaskLike, ViewMetrics } from "./views";
