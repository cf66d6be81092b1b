/**
 * Bounded consistency waits on the real tier (gateway, worker, relay and consistency processes on Postgres +
 * JetStream), over gRPC and Connect: a `min_consistency_token` the server never handed out is
 * INVALID_ARGUMENT at once, and a wait without a deadline ends at QUERY_WAIT_MAX_MS with DEADLINE_EXCEEDED.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { encodeToken } from "../commands/consistency-token";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { createTestStack, type RoleProcess, type TestStack } from "../testing";
import { createQueryCallers, type QueryCaller } from "./testing-callers";

const secret = "e2e-secret-0123456789abcdef";
let stack: TestStack;
let commands: GrpcClient<typeof CommandService>;
let callers: QueryCaller[] = [];
let consistency: RoleProcess | undefined;
let token: string;
const userId = crypto.randomUUID();

beforeAll(async () => {
  stack = await createTestStack({
    AUTH_JWT_SECRET: secret,
    OUTBOX_POLL_MS: "200",
    QUERY_WAIT_MAX_MS: "1500",
  });
  await stack.start("worker");
  await stack.start("relay");
  consistency = await stack.start("consistency");
  const addresses = await stack.addresses(await stack.start("gateway"));
  commands = createGrpcClient(CommandService, addresses.grpc);
  token = await mintToken({ sub: userId, role: "user", secret });
  callers = createQueryCallers(addresses, token);
  await commands.call("createUser", { userId, email: "w@example.com", displayName: "Wait" }, { token });
}, 60_000);

afterAll(async () => {
  commands?.close();
  for (const c of callers) c.close();
  await stack?.stop();
});

describe("bounded consistency waits", () => {
  test("a token beyond anything written is INVALID_ARGUMENT at once (gRPC and Connect)", async () => {
    const forged = encodeToken({ transactionId: 9_000_000_000n, position: 9_000_000_000n });
    const huge = encodeToken({ transactionId: 10n ** 19n, position: 10n ** 19n });
    for (const call of callers) {
      for (const minConsistencyToken of [forged, huge]) {
        const started = performance.now();
        const code = await call.code("getUserProfile", { options: { minConsistencyToken }, userId });
        expect(`${call.name}: ${code}`).toBe(`${call.name}: INVALID_ARGUMENT`);
        expect(performance.now() - started).toBeLessThan(1_000);
      }
    }
  });

  test("a token not reached, without a deadline, ends at QUERY_WAIT_MAX_MS with DEADLINE_EXCEEDED", async () => {
    await consistency?.kill("SIGTERM");
    consistency = undefined;
    const written = await commands.call("updateUserProfile", { userId, displayName: "Later" }, { token });
    const minConsistencyToken = written.result?.consistencyToken ?? "";
    for (const call of callers) {
      const started = performance.now();
      const code = await call.code("getUserProfile", { options: { minConsistencyToken }, userId }, null);
      const ms = performance.now() - started;
      expect(`${call.name}: ${code}`).toBe(`${call.name}: DEADLINE_EXCEEDED`);
      expect(ms).toBeGreaterThanOrEqual(1_400);
      expect(ms).toBeLessThan(6_000);
    }
    consistency = await stack.start("consistency");
    // Once the views catch up, the same token is answered.
    for (const call of callers) {
      const r = (await call.call("getUserProfile", { options: { minConsistencyToken }, userId })) as {
        profile?: { displayName: string };
      };
      expect(r.profile?.displayName).toBe("Later");
    }
  }, 30_000);
});
