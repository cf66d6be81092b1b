/**
 * Every role (gateway, worker, relay, consistency, each its own process) across Postgres and NATS going away
 * and coming back, on private servers reached through TCP proxies: every connection reset, a hung server
 * (the proxy stops forwarding), a fast restart and a crash (immediate stop) of Postgres, a SIGKILL and a
 * SIGTERM of NATS. Each process reports not ready (/readyz 503) within a second or so of losing the
 * dependency and ready again within a second or so of it answering; a write and a read-your-writes query go
 * through within seconds after each fault; at the end no process exited and none logged an unhandled
 * rejection.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type ServiceError, status as Status } from "@grpc/grpc-js";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { QueryService } from "../gen/clone/v1/query_service_pb";
import { createPrivateStack, type PrivateStack, type RoleProcess } from "../testing";

const secret = "dependency-faults-secret-0123456789";
const RETRYABLE = new Set([Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED, Status.CANCELLED, Status.INTERNAL]);

let stack: PrivateStack;
let token: string;
let commands: GrpcClient<typeof CommandService>;
let queries: GrpcClient<typeof QueryService>;
/** The /readyz URL of each process. */
const readyz: Array<{ role: string; url: string }> = [];

async function readyUrl(p: RoleProcess): Promise<string> {
  if (p.role === "gateway") {
    const line = await p.waitForLog((l) => l.msg === "gateway listening");
    return `http://127.0.0.1:${line.httpPort as number}/readyz`;
  }
  const line = await p.waitForLog((l) => l.msg === "metrics listening");
  return `http://127.0.0.1:${line.metricsPort as number}/readyz`;
}

beforeAll(async () => {
  stack = await createPrivateStack({
    AUTH_JWT_SECRET: secret,
    WORKER_THREADS: "1",
    CONSISTENCY_THREADS: "1",
    OUTBOX_POLL_MS: "250",
  });
  for (const role of ["worker", "relay", "consistency", "gateway"] as const) {
    const p = await stack.start(role);
    readyz.push({ role, url: await readyUrl(p) });
  }
  const gateway = stack.processes.find((p) => p.role === "gateway") as RoleProcess;
  const address = `127.0.0.1:${(await gateway.waitForLog((l) => l.msg === "gateway listening")).grpcPort as number}`;
  commands = createGrpcClient(CommandService, address);
  queries = createGrpcClient(QueryService, address);
  token = await mintToken({ sub: "ops", role: "admin", secret });
}, 60_000);

afterAll(async () => {
  commands?.close();
  queries?.close();
  await stack?.stop();
});

/** Status of every process's /readyz (0: no answer). */
async function readiness(): Promise<number[]> {
  return Promise.all(
    readyz.map(({ url }) =>
      fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
        (r) => r.status,
        () => 0,
      ),
    ),
  );
}

/** Ms until every process answers /readyz with `status`; throws after `timeoutMs`. */
async function allReady(status: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    const statuses = await readiness();
    if (statuses.every((s) => s === status)) return performance.now() - started;
    if (performance.now() - started > timeoutMs)
      throw new Error(
        `readyz ${JSON.stringify(readyz.map((r, i) => [r.role, statuses[i]]))}, want ${status}`,
      );
    await Bun.sleep(50);
  }
}

let users = 0;

/** Creates a user (retrying with the same command id), then reads it with its token; resolves with the ms. */
async function writeThenRead(timeoutMs: number): Promise<number> {
  const started = performance.now();
  const commandId = `faults-${++users}-${crypto.randomUUID()}`;
  const give = () => {
    if (performance.now() - started > timeoutMs) throw new Error(`no write and read within ${timeoutMs} ms`);
  };
  let consistencyToken = "";
  let userId = "";
  for (;;) {
    try {
      const result = await commands.call(
        "createUser",
        { options: { commandId }, email: `${commandId}@example.com`, displayName: "Fault" },
        { token, deadline: Date.now() + 3_000 },
      );
      consistencyToken = result.result?.consistencyToken ?? "";
      userId = result.result?.aggregateId ?? "";
      break;
    } catch (error) {
      if (!RETRYABLE.has((error as ServiceError).code)) throw error;
      give();
      await Bun.sleep(100);
    }
  }
  for (;;) {
    try {
      const profile = await queries.call(
        "getUserProfile",
        { userId, options: { minConsistencyToken: consistencyToken } },
        { token, deadline: Date.now() + 3_000 },
      );
      expect(profile.profile?.userId).toBe(userId);
      return performance.now() - started;
    } catch (error) {
      if (!RETRYABLE.has((error as ServiceError).code)) throw error;
      give();
      await Bun.sleep(100);
    }
  }
}

test("before any fault: ready, and a write is read back", async () => {
  await allReady(200, 5_000);
  expect(await writeThenRead(15_000)).toBeLessThan(15_000);
}, 30_000);

/** A fault: `down` makes it, `up` ends it; `visible`: the dependency is unreachable meanwhile (not ready). */
const faults: Array<{ name: string; down: () => Promise<void>; up: () => Promise<void>; visible?: false }> = [
  {
    name: "Postgres connections reset",
    down: async () => stack.postgresProxy.reset(),
    up: async () => {},
    visible: false,
  },
  {
    name: "Postgres hung",
    down: async () => stack.postgresProxy.hang(),
    up: async () => stack.postgresProxy.resume(),
  },
  {
    name: "NATS connections reset",
    down: async () => stack.natsProxy.reset(),
    up: async () => {},
    visible: false,
  },
  { name: "NATS hung", down: async () => stack.natsProxy.hang(), up: async () => stack.natsProxy.resume() },
  {
    name: "Postgres fast restart",
    down: () => stack.postgres.stop("fast"),
    up: () => stack.postgres.start(),
  },
  {
    name: "Postgres crash (immediate stop)",
    down: () => stack.postgres.stop("immediate"),
    up: () => stack.postgres.start(),
  },
  { name: "NATS SIGKILL", down: () => stack.nats.stop("SIGKILL"), up: () => stack.nats.start() },
  { name: "NATS SIGTERM", down: () => stack.nats.stop("SIGTERM"), up: () => stack.nats.start() },
];

for (const fault of faults) {
  test(`${fault.name}: not ready while down, ready within ~1 s of its return, writes and reads resume`, async () => {
    await fault.down();
    if (fault.visible !== false) expect(await allReady(503, 3_000)).toBeLessThan(2_000);
    await Bun.sleep(1_000);
    await fault.up();
    expect(await allReady(200, 5_000)).toBeLessThan(2_000);
    expect(await writeThenRead(20_000)).toBeLessThan(20_000);
  }, 40_000);
}

test("no process exited and none logged an unhandled rejection", async () => {
  // A write after all of it: every role still works together.
  expect(await writeThenRead(15_000)).toBeLessThan(15_000);
  expect(stack.exited()).toEqual([]);
  expect(stack.unhandledRejections()).toEqual([]);
}, 30_000);
