/**
 * Retention on the real tier: the relay role's retention leader prunes stored command results past
 * COMMAND_RESULT_RETENTION (timestamps set back); a retry within the retention is still answered as a
 * duplicate, one after it is a new command (a turn recorded again); the sizes and the pruned rows are metrics.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { Speaker } from "../gen/clone/v1/enums_pb";
import { findSamples, parseExposition } from "../metrics/parse-exposition";
import { createTestStack, type RoleProcess, type TestStack } from "../testing";

const secret = "e2e-secret-0123456789abcdef";
const DAY = 86_400_000;
let stack: TestStack;
let relay: RoleProcess;
let commands: GrpcClient<typeof CommandService>;
let token: string;
const userId = crypto.randomUUID();
const conversationId = crypto.randomUUID();

const turn = (commandId: string) =>
  commands.call(
    "recordConversationTurn",
    { options: { commandId }, conversationId, speaker: Speaker.USER, text: "hi", audioMs: 1, latencyMs: 1 },
    { token },
  );

const stored = async (commandId: string) =>
  (await stack.db.pool.query("SELECT 1 FROM command_results WHERE command_id = $1", [commandId])).rowCount;

beforeAll(async () => {
  stack = await createTestStack({ AUTH_JWT_SECRET: secret });
  await stack.start("worker");
  relay = await stack.start("relay", { RETENTION_INTERVAL_MS: "200", RETENTION_BATCH_ROWS: "100" });
  const addresses = await stack.addresses(await stack.start("gateway"));
  commands = createGrpcClient(CommandService, addresses.grpc);
  token = await mintToken({ sub: userId, role: "user", secret });
  await commands.call("createUser", { userId, email: "r@example.com", displayName: "R" }, { token });
  await commands.call("startConversation", { conversationId, userId }, { token });
}, 60_000);

afterAll(async () => {
  commands?.close();
  await stack?.stop();
});

describe("retention of command results", () => {
  test("pruned after the retention: a retry within it is a duplicate, one after it a new command", async () => {
    expect((await turn("turn-kept")).result?.version).toBe(2n);
    expect((await turn("turn-pruned")).result?.version).toBe(3n);
    // 250 more results past the retention: the leader prunes them in batches of 100.
    await stack.db.pool.query(
      `INSERT INTO command_results (command_id, command_type, aggregate_type, payload_hash, result, created_at)
       SELECT 'old-' || i, 'CreateUser', 'user', 'h', '{"ok": true}', now() - interval '8 days'
         FROM generate_series(1, 250) i`,
    );
    await stack.db.pool.query(
      "UPDATE command_results SET created_at = now() - $2::bigint * interval '1 millisecond' WHERE command_id = $1",
      ["turn-kept", 7 * DAY - 3_600_000],
    );
    await stack.db.pool.query(
      "UPDATE command_results SET created_at = now() - interval '8 days' WHERE command_id = $1",
      ["turn-pruned"],
    );
    const until = Date.now() + 10_000;
    while ((await stored("turn-pruned")) !== 0 && Date.now() < until) await Bun.sleep(100);
    expect(await stored("turn-pruned")).toBe(0);
    const left = await stack.db.pool.query(
      "SELECT count(*)::int AS n FROM command_results WHERE command_id LIKE 'old-%'",
    );
    expect(left.rows[0].n).toBe(0);
    expect(await stored("turn-kept")).toBe(1);

    const kept = await turn("turn-kept");
    expect(kept.result?.duplicate).toBe(true);
    expect(kept.result?.version).toBe(2n);
    // Past the retention the id is unknown: the turn is recorded again (JetStream's 2-minute duplicate window
    // does not stop it either: a dropped copy with no stored result is sent again under a retry id).
    const again = await turn("turn-pruned");
    expect(again.result?.duplicate).toBe(false);
    expect(again.result?.version).toBe(4n);

    const port = (await relay.waitForLog((l) => l.msg === "metrics listening")).metricsPort as number;
    const exposition = parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    const pruned = findSamples(exposition, "clone_command_store_pruned_rows_total", {
      table: "command_results",
    });
    expect(pruned[0]?.value).toBeGreaterThanOrEqual(251);
    const bytes = findSamples(exposition, "clone_command_store_bytes", { table: "command_blobs" });
    expect(bytes[0]?.value).toBeGreaterThan(0);
    expect(findSamples(exposition, "clone_command_store_rows", { table: "command_results" })).toHaveLength(1);
  }, 30_000);
});
