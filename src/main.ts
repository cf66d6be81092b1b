/**
 * `bun start [--role gateway|worker|relay|consistency|all]`
 *
 * With DATABASE_URL and NATS_URL set, each role runs against Postgres and NATS JetStream, as its own process
 * or all in one (`all`, the default). Without them, everything runs in this process on an embedded Postgres
 * and an in-process command bus (the embedded mode, for trying it out). SIGTERM/SIGINT stop gracefully.
 */

import { parseArgs } from "node:util";
import { type Config, loadConfig } from "./config";
import { migrate } from "./db";
import { embeddedBanner, embeddedRoleError, requireBothUrls, startEmbeddedRole } from "./embedded";
import { ConfigError } from "./errors";
import { createLogger, type Logger } from "./logging";
import { createMetrics } from "./metrics";
import { startConsistencyRole } from "./roles/consistency";
import { startGatewayRole } from "./roles/gateway";
import { startMetricsEndpoint } from "./roles/metrics-endpoint";
import { startRelayRole } from "./roles/relay";
import { unreachableDependencies, waitForDependencies } from "./roles/wait-for-dependencies";
import { type RunningRole, startWorkerRole } from "./roles/worker";
import { startTracing, type Tracing } from "./tracing";

/** The roles a process can take. */
export const roles = ["gateway", "worker", "relay", "consistency", "all"] as const;
type RoleName = (typeof roles)[number];

async function startRoles(role: RoleName, config: Config, log: Logger): Promise<RunningRole[]> {
  const running: RunningRole[] = [];
  const metrics = createMetrics({ role });
  if (role === "all" && config.databaseUrl) {
    const { applied } = await migrate(config.databaseUrl);
    if (applied.length > 0) log.info({ applied }, "migrations applied");
  }
  // The gateway serves /metrics on its HTTP port; other processes on METRICS_PORT.
  if (role !== "gateway" && role !== "all") running.push(await startMetricsEndpoint(config, metrics, log));
  if (role === "worker" || role === "all")
    running.push(await startWorkerRole(config, log.child({ role: "worker" }), metrics));
  if (role === "relay" || role === "all")
    running.push(await startRelayRole(config, log.child({ role: "relay" }), metrics));
  if (role === "consistency" || role === "all")
    running.push(await startConsistencyRole(config, log.child({ role: "consistency" }), metrics));
  if (role === "gateway" || role === "all")
    running.push(await startGatewayRole(config, log.child({ role: "gateway" }), metrics));
  return running;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { role: { type: "string", default: "all" } } });
  const role = values.role as RoleName;
  if (!roles.includes(role)) throw new ConfigError(`--role must be one of ${roles.join(", ")}`);
  const config = loadConfig();
  const log = createLogger({ level: config.logLevel, name: "clone" });
  const tracing = startTracing(config.tracing, role);
  if (tracing) log.info({ tracesUrl: config.tracing?.tracesUrl }, "tracing on (OpenTelemetry)");
  const embedded = config.databaseUrl === undefined && config.natsUrl === undefined;
  if (embedded) {
    if (role !== "all") throw new ConfigError(embeddedRoleError(role));
    log.info({ dataDir: config.embeddedDataDir }, embeddedBanner(config));
  } else {
    requireBothUrls(config);
    log.info(
      { role, prefix: config.natsPrefix, grpcPort: config.grpc.port },
      `starting role ${role} on Postgres and NATS JetStream`,
    );
  }
  reportUnhandledRejections(log);
  const urls = { databaseUrl: config.databaseUrl ?? "", natsUrl: config.natsUrl ?? "" };
  const stopOn = handleStopSignals(
    log,
    tracing,
    embedded ? undefined : () => unreachableDependencies(urls, STUCK_PROBE_TIMEOUT_MS),
  );
  if (!embedded && !(await waitForDependencies(urls, log, () => stopRequestedDuringStart))) process.exit(0);
  const running = embedded ? [await startEmbeddedRole(config, log)] : await startRoles(role, config, log);
  stopOn(running);
}

/**
 * A promise rejected with no handler is a bug (every dependency fault must be handled where it happens), but it
 * must not take the process down with it: it is logged at error level as "unhandled rejection" (a fault suite
 * greps for that) and the process carries on.
 */
function reportUnhandledRejections(log: Logger): void {
  process.on("unhandledRejection", (reason) => {
    const error =
      reason instanceof Error ? { error: reason.message, stack: reason.stack } : { error: String(reason) };
    log.error(error, "unhandled rejection");
  });
}

/** Set by a SIGTERM/SIGINT that arrives before the roles are running. */
let stopRequestedDuringStart = false;

/**
 * While a graceful stop runs, how often it checks that Postgres and NATS still answer, and the budget of that
 * check: work in flight held up by a dependency that does not answer (a hung server) cannot finish, so the
 * stop gives up on it (exit 1; it is redelivered or retried elsewhere) instead of waiting out the watchdog.
 */
const STUCK_CHECK_MS = 2_000;
const STUCK_PROBE_TIMEOUT_MS = 1_000;

/** Longest a graceful stop may take; then the process gives up and exits 1 (compose's grace is 30 s). */
const STOP_TIMEOUT_MS = 25_000;

/**
 * Installs the SIGTERM/SIGINT handlers before anything starts, so a signal during start-up is not lost (nor
 * kills the process half-started): the roles are stopped as soon as they are running. Roles stop in reverse
 * start order (the gateway first: no new calls). Exit 0 when every role stopped cleanly, 1 otherwise; a
 * second SIGINT exits at once.
 */
function handleStopSignals(
  log: Logger,
  tracing: Tracing | undefined,
  unreachable?: () => Promise<Record<string, string>>,
): (running: RunningRole[]) => void {
  let running: RunningRole[] | undefined;
  let requested: string | undefined;
  let stopping = false;

  async function stop(signal: string): Promise<void> {
    if (stopping || running === undefined) return;
    stopping = true;
    const since = performance.now();
    log.info({ signal }, "stopping");
    const watchdog = setTimeout(() => {
      log.error({ timeoutMs: STOP_TIMEOUT_MS }, "graceful stop timed out; exiting");
      process.exit(1);
    }, STOP_TIMEOUT_MS);
    let checking = false;
    const stuck = setInterval(() => {
      if (unreachable === undefined || checking) return;
      checking = true;
      void unreachable()
        .then((down) => {
          if (Object.keys(down).length === 0) return;
          log.error({ down }, "graceful stop waits on work an unreachable dependency holds up; exiting");
          process.exit(1);
        })
        .catch(() => {})
        .finally(() => {
          checking = false;
        });
    }, STUCK_CHECK_MS);
    let failed = false;
    for (const r of [...running].reverse()) {
      try {
        await r.stop();
      } catch (error) {
        failed = true;
        log.error({ error: error instanceof Error ? error.message : String(error) }, "a role failed to stop");
      }
    }
    await tracing?.shutdown();
    clearTimeout(watchdog);
    clearInterval(stuck);
    log.info({ ms: Math.round(performance.now() - since), clean: !failed }, "stopped");
    process.exit(failed ? 1 : 0);
  }

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      if (signal === "SIGINT") process.exit(130);
      log.info({ signal }, "already stopping");
      return;
    }
    if (running === undefined) {
      requested ??= signal;
      stopRequestedDuringStart = true;
      log.info({ signal }, "signal during start-up; stopping once started");
      return;
    }
    void stop(signal);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return (started) => {
    running = started;
    if (requested !== undefined) void stop(requested);
  };
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
