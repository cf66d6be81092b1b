/**
 * Scheduled reconciliation in the consistency role process (real tier: worker, relay, consistency, gateway):
 * a view row changed behind the system's back is repaired by the leader's next pass and counted in
 * `clone_view_drift_rows_total{view}` on its metrics endpoint, and the gateway answers the repaired row.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { createQueryCallers, type QueryCaller } from "../queries/callers.testkit";
import { createTestStack, type TestStack } from "../testing";

const secret = "e2e-secret-0123456789abcdef";
let stack: TestStack;
let commands: GrpcClient<typeof CommandService>;
let query: QueryCaller;
let metricsUrl: string;
let token: string;
const userId = crypto.randomUUID();

beforeAll(async () => {
  stack = await createTestStack({ AUTH_JWT_SECRET: secret, OUTBOX_POLL_MS: "200" });
  await stack.start("worker");
  await stack.start("relay");
  const consistency = await stack.start("consistency", {
    RECONCILE_INTERVAL_MS: "500",
    RECONCILE_BATCH_KEYS: "10",
  });
  const port = (await consistency.waitForLog((l) => l.msg === "metrics listening")).metricsPort as number;
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  const gateway = await stack.addresses(await stack.start("gateway"));
  commands = createGrpcClient(CommandService, gateway.grpc);
  token = await mintToken({ sub: userId, role: "user", secret });
  query = createQueryCallers(gateway, token)[0] as QueryCaller;
}, 60_000);

afterAll(async () => {
  query?.close();
  commands?.close();
  await stack?.stop();
});

async function drift(view: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`clone_view_drift_rows_total{`) && l.includes(`view="${view}"`));
  return line === undefined ? Number.NaN : Number(line.split(" ").pop());
}

describe("reconciliation in the consistency role", () => {
  test("a row changed behind the system's back is repaired and counted", async () => {
    const created = (await commands.call(
      "createUser",
      { userId, email: "drift@example.com", displayName: "Honest" },
      { token },
    )) as { result?: { consistencyToken: string } };
    const read = async () =>
      ((await query.call("getUserProfile", { userId })) as { profile?: { displayName: string } }).profile
        ?.displayName;
    expect(
      (
        (await query.call("getUserProfile", {
          userId,
          options: { minConsistencyToken: created.result?.consistencyToken ?? "" },
        })) as { profile?: { displayName: string } }
      ).profile?.displayName,
    ).toBe("Honest");
    expect(await drift("user_profile_view")).toBe(0);
    await stack.db.pool.query("UPDATE user_profile_view SET display_name = 'Tampered' WHERE user_id = $1", [
      userId,
    ]);
    const deadline = Date.now() + 20_000;
    while ((await drift("user_profile_view")) < 1 && Date.now() < deadline) await Bun.sleep(200);
    expect(await drift("user_profile_view")).toBe(1);
    const row = await stack.db.pool.query("SELECT display_name FROM user_profile_view WHERE user_id = $1", [
      userId,
    ]);
    expect(row.rows[0]?.display_name).toBe("Honest");
    // (That the repair's invalidations reach the gateways' caches: reconcile.int.test.ts.)
    while ((await read()) !== "Honest" && Date.now() < deadline) await Bun.sleep(100);
    expect(await read()).toBe("Honest");
  }, 60_000);
});
