/**
 * The service under test: one worker, one gateway and (optionally) the outbox relay, each its own
 * `bun src/main.ts --role X` child process, on a fresh database and NATS prefix, with the service's default
 * settings (threads, partitions, pool size) so the numbers are those of a default deployment.
 */
import {
  gatewayReady,
  type RoleProcess,
  startRole,
  type TestDatabase,
  type TestNats,
  workerReady,
} from "../src/testing";

/** A running gateway + worker (+ relay). */
export interface ServiceStack {
  /** `127.0.0.1:<port>` of the gateway. */
  readonly gatewayAddress: string;
  /** Command threads the worker runs (its default, or `WORKER_THREADS`), as its start-up line says. */
  readonly workerThreads: number;
  /** Child processes, for the report. */
  readonly processes: readonly RoleProcess[];
  /** Stops every process, gracefully if it can (SIGTERM), else SIGKILL. */
  stop(): Promise<void>;
}

const relayReady = (l: Record<string, unknown>) => l.msg === "outbox relay started";

/** Starts the roles; whatever started is stopped again if a later one fails. */
export async function startServiceStack(
  db: TestDatabase,
  nats: TestNats,
  options: {
    readonly jwtSecret: string;
    readonly relay: boolean;
    /** Run each role under Bun's CPU profiler, writing its profile into this directory (see options.ts). */
    readonly profileDir?: string | undefined;
  },
): Promise<ServiceStack> {
  const env = {
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    NATS_PREFIX: nats.prefix,
    AUTH_JWT_SECRET: options.jwtSecret,
    GRPC_HOST: "127.0.0.1",
    GRPC_PORT: "0",
  };
  const profile = options.profileDir === undefined ? {} : { cpuProfileDir: options.profileDir };
  const processes: RoleProcess[] = [];
  const stop = () => Promise.all(processes.map((p) => stopRole(p))).then(() => {});
  try {
    // Nothing is logged per command at the default level `info`, only start-up and failures.
    const start = (role: "worker" | "gateway" | "relay", ready: (l: Record<string, unknown>) => boolean) =>
      startRole(role, env, ready, profile).then((p) => {
        processes.push(p);
        return p;
      });
    const worker = await start("worker", workerReady);
    const workerThreads = (await worker.waitForLog(workerReady)).threads as number;
    if (options.relay) await start("relay", relayReady);
    const gateway = await start("gateway", gatewayReady);
    const port = (await gateway.waitForLog(gatewayReady)).grpcPort as number;
    return { gatewayAddress: `127.0.0.1:${port}`, workerThreads, processes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function stopRole(p: RoleProcess, graceMs = 5_000): Promise<void> {
  const exited = await Promise.race([
    p.kill("SIGTERM").then(() => true),
    Bun.sleep(graceMs).then(() => false),
  ]);
  if (!exited) await p.kill("SIGKILL");
}
