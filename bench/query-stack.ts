/**
 * The service under test of the query benchmark: the command stack of service-stack.ts (worker, relay,
 * gateway) plus the consistency role, each a `bun src/main.ts --role X` child process with the service's
 * defaults, on one database and NATS prefix. The consistency role can be restarted in the other refresh mode
 * (`CONSISTENCY_REFRESH_MODE=keyed|full`); the metrics endpoints of the gateway (its HTTP port), the relay
 * and the consistency role are found from their start-up log lines.
 */
import { gatewayReady, type RoleProcess, startRole, type TestDatabase, type TestNats } from "../src/testing";
import { startServiceStack } from "./service-stack";

/** How the consistency role refreshes views. */
export type RefreshMode = "keyed" | "full";

/** A running stack. */
export interface QueryStack {
  readonly db: TestDatabase;
  readonly nats: TestNats;
  /** `127.0.0.1:<port>` of the gateway's gRPC server. */
  readonly gatewayAddress: string;
  /** `http://127.0.0.1:<port>/metrics` of the gateway, the relay, and the consistency role (it changes on restart). */
  readonly gatewayMetrics: string;
  readonly relayMetrics: string;
  consistencyMetrics(): string;
  /** The refresh mode of the running consistency role. */
  mode(): RefreshMode;
  /** Pids by role, for the CPU meter. */
  pids(): Map<string, number>;
  /** Stops the consistency role and starts it again in `mode`; resolves once the new one leads. */
  restartConsistency(mode: RefreshMode): Promise<void>;
  /** Stops the consistency role (the read side stalls; see query-outage.ts). */
  stopConsistency(): Promise<void>;
  /** Starts the consistency role in `mode` after {@link stopConsistency}; resolves once it leads. */
  startConsistency(mode: RefreshMode): Promise<void>;
  /**
   * Starts one more gateway on the same database and NATS prefix with `env` over the defaults (e.g. a
   * fallback bound); its address and how to stop it (once; later calls wait for the same stop). It is not
   * stopped by {@link stop}.
   */
  startGateway(
    env: Record<string, string>,
  ): Promise<{ readonly address: string; readonly pid: number; stop(): Promise<void> }>;
  /** Stops every process (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>;
}

const metricsListening = (l: Record<string, unknown>) => l.msg === "metrics listening";
const consistencyLeads = (l: Record<string, unknown>) =>
  l.msg === "consistency leader: refreshing read views";
const metricsUrl = (port: unknown) => `http://127.0.0.1:${port as number}/metrics`;

/** Starts worker, relay, gateway and the consistency role (in `mode`); whatever started is stopped on failure. */
export async function startQueryStack(
  db: TestDatabase,
  nats: TestNats,
  options: {
    readonly jwtSecret: string;
    readonly mode: RefreshMode;
    /** Run the worker, relay and gateway under Bun's CPU profiler, writing into this directory. */
    readonly profileDir?: string | undefined;
  },
): Promise<QueryStack> {
  const env = {
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    NATS_PREFIX: nats.prefix,
    AUTH_JWT_SECRET: options.jwtSecret,
    GRPC_HOST: "127.0.0.1",
    GRPC_PORT: "0",
  };
  const stack = await startServiceStack(db, nats, {
    jwtSecret: options.jwtSecret,
    relay: true,
    profileDir: options.profileDir,
  });
  let consistency: RoleProcess | undefined;
  let mode = options.mode;
  let consistencyMetrics = "";
  let stopped = false;
  const startConsistency = async (m: RefreshMode) => {
    const started = await startRole("consistency", { ...env, CONSISTENCY_REFRESH_MODE: m }, consistencyLeads);
    // Stopped while it was starting (Ctrl-C during a restart): it must not outlive the stack.
    if (stopped) {
      await stopRoleProcess(started);
      throw new Error("the stack was stopped");
    }
    consistency = started;
    consistencyMetrics = metricsUrl((await started.waitForLog(metricsListening)).metricsPort);
    mode = m;
  };
  const stopConsistency = async () => {
    const p = consistency;
    consistency = undefined;
    if (p) await stopRoleProcess(p);
  };
  try {
    const byRole = (role: string) => stack.processes.find((p) => p.role === role) as RoleProcess;
    const gateway = await byRole("gateway").waitForLog(gatewayReady);
    const relay = await byRole("relay").waitForLog(metricsListening);
    await startConsistency(options.mode);
    return {
      db,
      nats,
      gatewayAddress: stack.gatewayAddress,
      gatewayMetrics: metricsUrl(gateway.httpPort),
      relayMetrics: metricsUrl(relay.metricsPort),
      consistencyMetrics: () => consistencyMetrics,
      mode: () => mode,
      pids: () =>
        new Map([...stack.processes, ...(consistency ? [consistency] : [])].map((p) => [p.role, p.pid])),
      async restartConsistency(m) {
        await stopConsistency();
        await startConsistency(m);
      },
      stopConsistency,
      startConsistency,
      async startGateway(extra) {
        const p = await startRole("gateway", { ...env, ...extra }, gatewayReady);
        const port = (await p.waitForLog(gatewayReady)).grpcPort as number;
        let stopping: Promise<void> | undefined;
        return {
          address: `127.0.0.1:${port}`,
          pid: p.pid,
          stop: () => (stopping ??= stopRoleProcess(p)),
        };
      },
      async stop() {
        stopped = true;
        await stopConsistency();
        await stack.stop();
      },
    };
  } catch (error) {
    await stopConsistency();
    await stack.stop();
    throw error;
  }
}

/** SIGTERM, then SIGKILL when it has not exited after `graceMs`. */
async function stopRoleProcess(p: RoleProcess, graceMs = 5_000): Promise<void> {
  const exited = await Promise.race([
    p.kill("SIGTERM").then(() => true),
    Bun.sleep(graceMs).then(() => false),
  ]);
  if (!exited) await p.kill("SIGKILL");
}
