/**
 * Every process exports its metrics: the gateway on its HTTP port, worker, relay and consistency on
 * METRICS_PORT, after real traffic on the real tier.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createGrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { Speaker } from "../gen/clone/v1/enums_pb";
import { QueryService } from "../gen/clone/v1/query_service_pb";
import { createTestStack, type RoleProcess, type TestStack } from "../testing";

const secret = "e2e-secret-0123456789abcdef";
let stack: TestStack;
const ports: Record<string, number> = {};

const metricsPort = (p: RoleProcess) =>
  p.waitForLog((l) => l.msg === "metrics listening").then((l) => l.metricsPort as number);

beforeAll(async () => {
  stack = await createTestStack({ AUTH_JWT_SECRET: secret });
  for (const role of ["worker", "relay", "consistency"] as const) {
    ports[role] = await metricsPort(await stack.start(role));
  }
  const gateway = await stack.addresses(await stack.start("gateway"));
  ports.gateway = Number(new URL(gateway.http).port);
  const address = gateway.grpc;
  const commands = createGrpcClient(CommandService, address);
  const queries = createGrpcClient(QueryService, address);
  const userId = crypto.randomUUID();
  const token = await mintToken({ sub: userId, role: "user", secret });
  const created = await commands.call(
    "createUser",
    { userId, email: "m@example.com", displayName: "M" },
    { token },
  );
  const conversation = await commands.call("startConversation", { userId }, { token });
  await commands.call(
    "recordConversationTurn",
    {
      conversationId: conversation.result?.aggregateId ?? "",
      speaker: Speaker.USER,
      text: "hi",
      audioMs: 1,
      latencyMs: 1,
    },
    { token },
  );
  await commands.call(
    "uploadDocument",
    { userId, title: "t", contentType: "text/plain", content: new TextEncoder().encode("some words") },
    { token },
  );
  const options = { minConsistencyToken: created.result?.consistencyToken ?? "" };
  await queries.call("getUserProfile", { options, userId }, { token });
  await queries.call("getUserProfile", { userId }, { token });
  commands.close();
  queries.close();
}, 60_000);

afterAll(() => stack?.stop());

async function scrape(role: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${ports[role]}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** Waits until the exposition of `role` has a sample of every metric named (some are recorded asynchronously). */
async function expectSamples(role: string, names: string[]): Promise<void> {
  let text = "";
  for (let i = 0; i < 100; i++) {
    text = await scrape(role);
    if (names.every((n) => new RegExp(`^${n}(\\{|\\s)`, "m").test(text))) return;
    await Bun.sleep(100);
  }
  for (const n of names) expect(text).toMatch(new RegExp(`^${n}(\\{|\\s)`, "m"));
}

describe("metrics of every process (real tier)", () => {
  test("gateway: RPC, command and query latency, cache hits and misses", async () => {
    await expectSamples("gateway", [
      "clone_rpc_duration_seconds_bucket",
      "clone_command_duration_seconds_bucket",
      "clone_query_duration_seconds_bucket",
      "clone_query_cache_hits_total",
      "clone_query_cache_misses_total",
    ]);
  });

  test("worker: command execution time and event processing time", async () => {
    await expectSamples("worker", [
      "clone_command_execution_seconds_bucket",
      "clone_event_processing_seconds_bucket",
    ]);
    const ready = await fetch(`http://127.0.0.1:${ports.worker}/readyz`);
    expect(ready.status).toBe(200);
  });

  test("relay: events published, outbox backlog, JetStream consumer pending", async () => {
    await expectSamples("relay", [
      "clone_outbox_published_total",
      "clone_outbox_backlog",
      "clone_jetstream_consumer_pending",
    ]);
  });

  test("consistency: view refresh duration and consistency lag", async () => {
    await expectSamples("consistency", [
      "clone_view_refresh_duration_seconds_bucket",
      "clone_consistency_lag_seconds_bucket",
    ]);
  });
});
