/** Health: probing Postgres and NATS, `grpc.health.v1.Health`, and the readiness report of `/readyz`. */
export { createHealthService, watchStatus } from "./health-service";
export type {
  DependencyStatus,
  HealthMonitor,
  HealthMonitorOptions,
  HealthProbe,
  ReadinessReport,
} from "./monitor";
export { createHealthMonitor } from "./monitor";
export { natsProbe, poolProbe, postgresProbe } from "./probes";
