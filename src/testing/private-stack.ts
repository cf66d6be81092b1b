/**
 * A deployment on private servers, for fault tests that restart or kill Postgres or NATS: a private Postgres
 * cluster (with a migrated test database) and a private nats-server, and the roles started as child processes
 * against them through TCP proxies (as {@link createTestStack} does on the shared servers, which must never be
 * restarted): restart or kill a server, or hang or reset the connections to it.
 *
 * ```ts
 * const stack = await createPrivateStack({ AUTH_JWT_SECRET: secret });
 * await stack.start("worker");
 * await stack.postgres.restart("immediate");
 * await stack.nats.restart("SIGKILL");
 * expect(stack.unhandledRejections()).toEqual([]);
 * await stack.stop();
 * ```
 *
 * `{ natsNodes: 3 }` runs a 3-node JetStream cluster instead (NATS_URL lists its nodes, R3 streams);
 * `{ readReplica: true }` adds a streaming replica of the database that the gateways read the views from
 * (READ_DATABASE_URL).
 */
import { createTestDatabase, type TestDatabase } from "./postgres";
import {
  type PrivateNats,
  type PrivateNatsCluster,
  type PrivatePostgres,
  startPrivateNats,
  startPrivateNatsCluster,
  startPrivatePostgres,
  startPrivateReplica,
  startTcpProxy,
  type TcpProxy,
} from "./private-servers";
import { type RoleProcess, startRole } from "./processes";
import { roleReady, type StackRole } from "./stack";

/** A running deployment on private servers. */
export interface PrivateStack {
  readonly postgres: PrivatePostgres;
  /** The nats-server (with `natsNodes`, the cluster's first node). */
  readonly nats: PrivateNats;
  /** The cluster, with `natsNodes` > 1. */
  readonly natsCluster: PrivateNatsCluster | undefined;
  /** The streaming replica of the database, with `readReplica` (READ_DATABASE_URL points at it). */
  readonly replica: PrivatePostgres | undefined;
  /** The roles reach Postgres through this proxy: hang it (a hung backend) or reset its connections. */
  readonly postgresProxy: TcpProxy;
  /** The roles reach NATS through this proxy. */
  readonly natsProxy: TcpProxy;
  /** The migrated database on the private cluster (its pool reconnects after a restart). */
  readonly db: TestDatabase;
  readonly env: Readonly<Record<string, string>>;
  readonly processes: RoleProcess[];
  /** Starts a role with the stack's environment (and `env` on top); resolves once it serves. */
  start(role: StackRole, env?: Record<string, string>): Promise<RoleProcess>;
  /** The log lines "unhandled rejection" of every process (see main.ts), with the process's role. */
  unhandledRejections(): Array<Record<string, unknown>>;
  /** Processes that exited (role and code); none should, unless a test stopped them. */
  exited(): Array<{ role: string; code: number | null }>;
  /** Ends every process (SIGKILL unless told otherwise) and removes both servers. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** What {@link createPrivateStack} runs besides one Postgres. */
export interface PrivateStackOptions {
  /** NATS nodes: 1 (default) a single server, more a JetStream cluster with streams of that many replicas. */
  readonly natsNodes?: number;
  /** A streaming replica of the database as the gateways' READ_DATABASE_URL. */
  readonly readReplica?: boolean;
}

/** Starts a private Postgres (with a migrated database) and a private NATS; `env` is added for every role. */
export async function createPrivateStack(
  env: Record<string, string> = {},
  options: PrivateStackOptions = {},
): Promise<PrivateStack> {
  const natsNodes = options.natsNodes ?? 1;
  const servers: Array<{ destroy(): Promise<void> }> = [];
  const started = <T extends { destroy(): Promise<void> }>(server: T): T => {
    servers.push(server);
    return server;
  };
  let natsCluster: PrivateNatsCluster | undefined;
  let nats: PrivateNats;
  let postgres: PrivatePostgres;
  let replica: PrivatePostgres | undefined;
  let db: TestDatabase;
  let postgresProxy: TcpProxy;
  let natsProxy: TcpProxy;
  try {
    [postgres, nats] = await Promise.all([
      startPrivatePostgres().then(started),
      natsNodes > 1
        ? startPrivateNatsCluster(natsNodes).then((c) => {
            natsCluster = started(c);
            return c.nodes[0] as PrivateNats;
          })
        : startPrivateNats().then(started),
    ]);
    db = await createTestDatabase({ adminUrl: postgres.url, poolMax: 3 });
    db.pool.on("error", () => {}); // its idle connections die at each restart
    if (options.readReplica) replica = started(await startPrivateReplica(postgres));
    [postgresProxy, natsProxy] = await Promise.all([
      startTcpProxy(postgres.port).then((p) => started({ ...p, destroy: () => p.close() })),
      startTcpProxy(nats.port).then((p) => started({ ...p, destroy: () => p.close() })),
    ]);
  } catch (error) {
    await Promise.all(servers.map((s) => s.destroy()));
    throw error;
  }
  const roleDatabaseUrl = new URL(db.url);
  roleDatabaseUrl.port = String(postgresProxy.port);
  const shared = {
    DATABASE_URL: roleDatabaseUrl.toString(),
    // A cluster is reached directly (its nodes announce each other's addresses anyway); one server through
    // its proxy.
    NATS_URL: natsCluster?.url ?? `nats://127.0.0.1:${natsProxy.port}`,
    ...(natsNodes > 1 ? { NATS_STREAM_REPLICAS: String(natsNodes) } : {}),
    ...(replica ? { READ_DATABASE_URL: db.url.replace(`:${postgres.port}/`, `:${replica.port}/`) } : {}),
    NATS_PREFIX: "private",
    GRPC_PORT: "0",
    COMMAND_PARTITIONS: "4",
    ...env,
  };
  const processes: RoleProcess[] = [];
  return {
    postgres,
    nats,
    natsCluster,
    replica,
    postgresProxy,
    natsProxy,
    db,
    env: shared,
    processes,
    async start(role, extra = {}) {
      const process = await startRole(role, { ...shared, ...extra }, roleReady[role]);
      processes.push(process);
      return process;
    },
    unhandledRejections: () =>
      processes.flatMap((p) =>
        p.logs.filter((l) => l.msg === "unhandled rejection").map((l) => ({ role: p.role, ...l })),
      ),
    exited: () =>
      processes.flatMap((p) => (p.exitCode() === null ? [] : [{ role: p.role, code: p.exitCode() }])),
    async stop(signal = "SIGKILL") {
      await Promise.all(processes.map((p) => p.kill(signal)));
      await db.pool.end().catch(() => {});
      await Promise.all(servers.map((s) => s.destroy()));
    },
  };
}
