/**
 * `/metrics`, `/healthz` and `/readyz` on METRICS_PORT for processes without the gateway's HTTP port
 * (worker, relay, consistency): readiness means Postgres and NATS answer.
 */
import type { Config } from "../config";
import { createHealthMonitor, natsProbe, postgresProbe } from "../health";
import type { Logger } from "../logging";
import { type Metrics, startMetricsServer } from "../metrics";
import { connectNats } from "../nats";
import { type RunningRole, requireUrl } from "./worker";

/** Starts the metrics endpoint; stop it last. */
export async function startMetricsEndpoint(
  config: Config,
  metrics: Metrics,
  log: Logger,
): Promise<RunningRole> {
  const nats = await connectNats(requireUrl(config.natsUrl, "NATS_URL"), "clone-health");
  const monitor = createHealthMonitor({
    probes: [postgresProbe(requireUrl(config.databaseUrl, "DATABASE_URL")), natsProbe(nats.nc)],
    services: [],
    onChange: (name, status) =>
      status.up
        ? log.info({ dependency: name }, "dependency up")
        : log.warn({ dependency: name, error: status.error }, "dependency down"),
  });
  await monitor.start();
  const server = await startMetricsServer({
    port: config.metricsPort,
    registry: metrics.registry,
    health: async () => {
      const report = monitor.readiness();
      return { ok: report.ready, details: report.checks };
    },
  });
  log.info({ metricsPort: server.port }, "metrics listening");
  return {
    async stop() {
      await server.stop();
      await monitor.stop();
      await nats.nc.drain();
    },
  };
}
