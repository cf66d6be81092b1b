/**
 * One scaled-out deployment under test: a fresh database on the private Postgres, a fresh prefix on the private
 * NATS, a TCP proxy in front of each (the roles connect through them, so the network to a dependency can be cut
 * or silenced), and 2 gateways, 2 workers, 2 relays and 2 consistency processes. The suite's own checks and
 * admin connections go to the servers directly.
 */
import {
  createTestDatabase,
  createTestNats,
  type PrivateNats,
  type PrivatePostgres,
  type RoleProcess,
  roleReady,
  type StackRole,
  startRole,
  startTcpProxy,
  type TcpProxy,
  type TestDatabase,
  type TestNats,
} from "../testing";

/** The roles of a deployment, each run twice. */
export const deploymentRoles: readonly StackRole[] = ["worker", "relay", "consistency", "gateway"];

/** A running process of a deployment, named `<role>-<n>` (n = 1, 2). */
export interface DeployedProcess {
  readonly name: string;
  readonly role: StackRole;
  process: RoleProcess;
  /** Set when the suite ended it on purpose (a kill of the scenario, or the final stop). */
  endedOnPurpose: boolean;
  /** Exits of earlier incarnations the suite did not cause (name and code). */
  readonly unexpectedExits: string[];
  /** Earlier incarnations (before a restart). */
  readonly past: RoleProcess[];
}

/** A deployment under test. */
export interface Deployment {
  readonly db: TestDatabase;
  readonly nats: TestNats;
  readonly pgProxy: TcpProxy;
  readonly natsProxy: TcpProxy;
  readonly secret: string;
  readonly processes: readonly DeployedProcess[];
  /** gRPC addresses of the gateways, in order (they keep their ports across a restart). */
  readonly gatewayAddresses: readonly string[];
  /**
   * What says whether each process is ready: a gateway's `grpc.health.v1` address, every process's
   * `/readyz` URL (on the gateway's HTTP port, or the METRICS_PORT of the others); ports kept across a restart.
   */
  readonly healthTargets: readonly HealthTarget[];
  /** The named process. */
  get(name: string): DeployedProcess;
  /** Kills the named process with `signal` (an intended exit) and waits for it to end. */
  kill(name: string, signal: NodeJS.Signals): Promise<void>;
  /** Starts the named process again (same role, environment and ports). */
  restart(name: string): Promise<void>;
  /** SIGKILLs every process, closes the proxies, drops the database and the streams. */
  destroy(): Promise<void>;
}

/** One health endpoint of one process. */
export interface HealthTarget {
  /** The process, e.g. `worker-1`. */
  readonly process: string;
  readonly kind: "grpc" | "readyz";
  /** `host:port` (grpc) or the URL of `/readyz`. */
  readonly address: string;
}

/** Options of {@link startDeployment}. */
export interface DeploymentOptions {
  readonly postgres: PrivatePostgres;
  readonly nats: PrivateNats;
  /** Added to every role's environment. */
  readonly env?: Readonly<Record<string, string>>;
}

/** Creates the database, the prefix and the proxies, and starts two processes of every role. */
export async function startDeployment(options: DeploymentOptions): Promise<Deployment> {
  const db = await createTestDatabase({ adminUrl: options.postgres.url, poolMax: 4 });
  // The private cluster runs with synchronous_commit off for speed; here a commit must be durable when it
  // is acknowledged, or an immediate restart would lose acknowledged commands through no fault of the code.
  await db.pool.query(`ALTER DATABASE "${db.name}" SET synchronous_commit = on`);
  const nats = await createTestNats({ url: options.nats.url });
  const pgProxy = await startTcpProxy(options.postgres.port);
  const natsProxy = await startTcpProxy(options.nats.port);
  const rolesDbUrl = new URL(db.url);
  rolesDbUrl.port = String(pgProxy.port);
  const secret = "chaos-secret-0123456789abcdef";
  const env: Record<string, string> = {
    DATABASE_URL: rolesDbUrl.toString(),
    NATS_URL: `nats://127.0.0.1:${natsProxy.port}`,
    NATS_PREFIX: nats.prefix,
    AUTH_JWT_SECRET: secret,
    GRPC_PORT: "0",
    COMMAND_PARTITIONS: "8",
    WORKER_THREADS: "1",
    CONSISTENCY_THREADS: "1",
    DB_POOL_SIZE: "4",
    ...options.env,
  };
  const processes: DeployedProcess[] = [];
  /** The ports each process got at its first start, given again at a restart. */
  const pinnedPorts = new Map<string, Record<string, string>>();

  const launch = async (entry: DeployedProcess | { name: string; role: StackRole }): Promise<RoleProcess> => {
    const ports = pinnedPorts.get(entry.name) ?? {};
    return startRole(entry.role, { ...env, ...ports }, roleReady[entry.role]);
  };
  const watch = (entry: DeployedProcess): void => {
    const incarnation = entry.process;
    void incarnation.exited.then((code) => {
      if (entry.process === incarnation && !entry.endedOnPurpose)
        entry.unexpectedExits.push(`${entry.name} exited with ${code}`);
    });
  };

  try {
    // Sequentially per role, so that the first of each role leads (relay, consistency) deterministically.
    for (const role of deploymentRoles) {
      for (const n of [1, 2]) {
        const name = `${role}-${n}`;
        const process = await launch({ name, role });
        const entry: DeployedProcess = {
          name,
          role,
          process,
          endedOnPurpose: false,
          unexpectedExits: [],
          past: [],
        };
        if (role === "gateway") {
          const ready = await process.waitForLog(roleReady.gateway);
          pinnedPorts.set(name, { GRPC_PORT: String(ready.grpcPort), HTTP_PORT: String(ready.httpPort) });
        } else {
          const metrics = await process.waitForLog((l) => l.msg === "metrics listening");
          pinnedPorts.set(name, { METRICS_PORT: String(metrics.metricsPort) });
        }
        processes.push(entry);
        watch(entry);
      }
    }
  } catch (error) {
    await Promise.all(processes.map((p) => p.process.kill("SIGKILL")));
    await Promise.all([pgProxy.close(), natsProxy.close()]);
    await nats.cleanup().catch(() => {});
    await db.drop().catch(() => {});
    throw error;
  }

  const get = (name: string): DeployedProcess => {
    const entry = processes.find((p) => p.name === name);
    if (entry === undefined) throw new Error(`no process ${name}`);
    return entry;
  };
  return {
    db,
    nats,
    pgProxy,
    natsProxy,
    secret,
    processes,
    gatewayAddresses: processes
      .filter((p) => p.role === "gateway")
      .map((p) => `127.0.0.1:${pinnedPorts.get(p.name)?.GRPC_PORT}`),
    healthTargets: processes.flatMap((p): HealthTarget[] => {
      const ports = pinnedPorts.get(p.name) ?? {};
      return p.role === "gateway"
        ? [
            { process: p.name, kind: "grpc", address: `127.0.0.1:${ports.GRPC_PORT}` },
            { process: p.name, kind: "readyz", address: `http://127.0.0.1:${ports.HTTP_PORT}/readyz` },
          ]
        : [{ process: p.name, kind: "readyz", address: `http://127.0.0.1:${ports.METRICS_PORT}/readyz` }];
    }),
    get,
    async kill(name, signal) {
      const entry = get(name);
      entry.endedOnPurpose = true;
      await entry.process.kill(signal);
    },
    async restart(name) {
      const entry = get(name);
      entry.past.push(entry.process);
      entry.process = await launch(entry);
      entry.endedOnPurpose = false;
      watch(entry);
    },
    async destroy() {
      for (const p of processes) p.endedOnPurpose = true;
      await Promise.all(processes.map((p) => p.process.kill("SIGKILL")));
      await Promise.all([pgProxy.close(), natsProxy.close()]);
      await nats.cleanup().catch(() => {});
      await db.drop().catch(() => {});
    },
  };
}
