/**
 * A deployment for an end-to-end test: a fresh database, a NATS prefix, and the roles started as child
 * processes with one shared environment. Every e2e file of the real tier starts from it.
 *
 * ```ts
 * let stack: TestStack;
 * beforeAll(async () => {
 *   stack = await createTestStack({ AUTH_JWT_SECRET: secret });
 *   await stack.start("worker");
 *   const gateway = await stack.addresses(await stack.start("gateway"));
 * });
 * afterAll(() => stack?.stop());
 * ```
 */
import { createTestNats, type TestNats } from "./nats";
import { createTestDatabase, type TestDatabase } from "./postgres";
import { gatewayReady, type RoleProcess, startRole, workerReady } from "./processes";

/** The roles a stack can start. */
export type StackRole = "gateway" | "worker" | "relay" | "consistency";

/** The log line each role prints once it is serving. */
export const roleReady: Readonly<Record<StackRole, (line: Record<string, unknown>) => boolean>> = {
  gateway: gatewayReady,
  worker: workerReady,
  relay: (l) => l.msg === "outbox relay started",
  consistency: (l) => l.msg === "consistency started",
};

/** A running test deployment. */
export interface TestStack {
  readonly db: TestDatabase;
  readonly nats: TestNats;
  /** What every role of the stack is started with. */
  readonly env: Readonly<Record<string, string>>;
  /** Every process started, in order. */
  readonly processes: RoleProcess[];
  /** Starts a role with the stack's environment (and `env` on top); resolves once it serves. */
  start(role: StackRole, env?: Record<string, string>): Promise<RoleProcess>;
  /** The gRPC address (`host:port`) and the HTTP base URL of a running gateway. */
  addresses(gateway: RoleProcess): Promise<{ grpc: string; http: string }>;
  /** Ends every process (SIGTERM unless told otherwise), removes the streams, drops the database. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Creates the database and the NATS prefix; `env` is added to (and may override) the stack's environment. */
export async function createTestStack(env: Record<string, string> = {}): Promise<TestStack> {
  const db = await createTestDatabase();
  const nats = await createTestNats();
  const shared = {
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    NATS_PREFIX: nats.prefix,
    GRPC_PORT: "0",
    COMMAND_PARTITIONS: "4",
    ...env,
  };
  const processes: RoleProcess[] = [];
  return {
    db,
    nats,
    env: shared,
    processes,
    async start(role, extra = {}) {
      const process = await startRole(role, { ...shared, ...extra }, roleReady[role]);
      processes.push(process);
      return process;
    },
    async addresses(gateway) {
      const ready = await gateway.waitForLog(gatewayReady);
      return {
        grpc: `127.0.0.1:${ready.grpcPort as number}`,
        http: `http://127.0.0.1:${ready.httpPort as number}`,
      };
    },
    async stop(signal = "SIGTERM") {
      await Promise.all(processes.map((p) => p.kill(signal)));
      await nats.cleanup();
      await db.drop();
    },
  };
}
