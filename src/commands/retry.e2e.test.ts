/**
 * Retrying with the same command_id is always safe, on the real tier (gateway and worker processes on
 * Postgres + JetStream): a command whose first attempt waited in the queue past its caller's deadline (the
 * worker was stopped) is skipped, not refused for good, and the retry with the same id is applied once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { type ServiceError, status as Status } from "@grpc/grpc-js";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { createTestStack, type RoleProcess, type TestStack } from "../testing";

const secret = "e2e-secret-0123456789abcdef";
let stack: TestStack;
let client: GrpcClient<typeof CommandService>;
let connect: Client<typeof CommandService>;
let token: string;

beforeAll(async () => {
  stack = await createTestStack({ AUTH_JWT_SECRET: secret });
  const addresses = await stack.addresses(await stack.start("gateway"));
  client = createGrpcClient(CommandService, addresses.grpc);
  connect = createClient(
    CommandService,
    createConnectTransport({ baseUrl: addresses.http, httpVersion: "1.1" }),
  );
  token = await mintToken({ sub: "ops", role: "admin", secret });
}, 60_000);

afterAll(async () => {
  client?.close();
  await stack?.stop("SIGKILL");
});

/** Sends CreateUser under `commandId` with a deadline `ms` from now. */
const createUser = (commandId: string, userId: string, ms: number) =>
  client.call(
    "createUser",
    { options: { commandId }, userId, email: `${userId}@example.com`, displayName: "Retry" },
    { token, deadline: Date.now() + ms },
  );

/** The same over the Connect protocol (the gateway's HTTP/1.1 port). */
const createUserOverConnect = (commandId: string, userId: string, ms: number) =>
  connect.createUser(
    { options: { commandId }, userId, email: `${userId}@example.com`, displayName: "Retry" },
    { headers: { authorization: `Bearer ${token}` }, timeoutMs: ms },
  );

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (e) {
    if (e instanceof ConnectError) return Code[e.code] as string;
    return Status[(e as ServiceError).code] as string;
  }
}

/** How many rows of each table the user left: users, events, stored results. */
async function footprint(userId: string, commandId: string) {
  const q = (sql: string, v: string) => stack.db.pool.query(sql, [v]).then((r) => r.rows[0].n as number);
  return {
    users: await q("SELECT count(*)::int AS n FROM users WHERE id = $1", userId),
    events: await q("SELECT count(*)::int AS n FROM events WHERE aggregate_id = $1", userId),
    results: await q("SELECT count(*)::int AS n FROM command_results WHERE command_id = $1", commandId),
  };
}

describe("retry with the same command_id after a deadline passed in the queue", () => {
  test("the worker comes back (skipping the expired copy), then the retry is applied once", async () => {
    const userId = crypto.randomUUID();
    const commandId = `retry-${userId}`;
    // No worker: the command waits in the queue past its deadline.
    const first = await codeOf(createUser(commandId, userId, 400));
    expect(first).toBe("DEADLINE_EXCEEDED");
    const worker = await stack.start("worker");
    // The expired copy is received and skipped: nothing applied, nothing stored.
    await worker.waitForLog((l) => l.commandId === commandId, 10_000).catch(() => undefined);
    await Bun.sleep(500);
    expect(await footprint(userId, commandId)).toEqual({ users: 0, events: 0, results: 0 });
    // The retry the DEADLINE_EXCEEDED message recommends (within JetStream's duplicate window) is applied.
    const retry = await createUser(commandId, userId, 10_000);
    expect(retry.result?.duplicate).toBe(false);
    expect(retry.result?.aggregateId).toBe(userId);
    expect(await footprint(userId, commandId)).toEqual({ users: 1, events: 1, results: 1 });
    // Any later attempt is answered from the stored result.
    const again = await createUser(commandId, userId, 10_000);
    expect(again.result?.duplicate).toBe(true);
    expect(again.result?.version).toBe(retry.result?.version);
    await worker.kill("SIGTERM");
  }, 30_000);

  /**
   * First attempt with a 400 ms deadline and no worker (DEADLINE_EXCEEDED), the retry sent while the worker
   * is still stopped, then the worker started: the expired first copy, queued before the retry, is skipped
   * and the retry's copy applies the command, once.
   */
  async function retryWhileStopped(
    send: typeof createUser | typeof createUserOverConnect,
    deadlineCode: string,
  ): Promise<void> {
    const userId = crypto.randomUUID();
    const commandId = `retry-${userId}`;
    expect(await codeOf(send(commandId, userId, 400))).toBe(deadlineCode);
    const retry = send(commandId, userId, 40_000);
    await Bun.sleep(300);
    let worker: RoleProcess | undefined;
    try {
      worker = await stack.start("worker");
      const answer = await retry;
      expect(answer.result?.aggregateId).toBe(userId);
      expect(answer.result?.duplicate).toBe(false);
      expect(await footprint(userId, commandId)).toEqual({ users: 1, events: 1, results: 1 });
    } finally {
      await worker?.kill("SIGTERM");
    }
  }

  test(
    "the retry is sent while the worker is still stopped and applied once it is back",
    () => retryWhileStopped(createUser, "DEADLINE_EXCEEDED"),
    60_000,
  );

  test("over Connect: the same", () => retryWhileStopped(createUserOverConnect, "DeadlineExceeded"), 60_000);
});
