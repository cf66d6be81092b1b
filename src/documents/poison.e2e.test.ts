/**
 * Acceptance on the real tier (gateway, worker, relay and consistency processes on Postgres + JetStream): five
 * poisoned documents (U+0000, 2 MiB, invalid JSON, invalid UTF-8, an escaped U+0000 in JSON) do not hold back
 * another user's documents, each of them ends within a minute, and the processes go back to idle.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  cpuSecondsOf,
  createTestStack,
  expectPoisonOutcome,
  runPoisonScenario,
  type TestStack,
} from "../testing";

const secret = "poison-e2e-secret-0123456789abcdef";
let stack: TestStack;
let grpcAddress: string;

beforeAll(async () => {
  stack = await createTestStack({ AUTH_JWT_SECRET: secret });
  await stack.start("worker");
  await stack.start("relay");
  await stack.start("consistency");
  grpcAddress = (await stack.addresses(await stack.start("gateway"))).grpc;
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe("poisoned documents on the real tier", () => {
  test("another user's documents are processed within 2 s; each poisoned one ends; the processes go idle", async () => {
    const result = await runPoisonScenario({ grpcAddress, secret });
    expectPoisonOutcome(result, "real tier");
    // Each failed once: one result event per document, nothing retried behind the scenes.
    const events = await stack.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM events WHERE type IN ('document.processed', 'document.processing_failed')
         AND aggregate_id IN (SELECT id FROM documents WHERE title NOT LIKE 'note %')`,
    );
    expect(events.rows[0]?.n).toBe(5);
    const chunks = await stack.db.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM document_chunks c JOIN documents d ON d.id = c.document_id WHERE d.title = '2 MiB of text'",
    );
    expect(chunks.rows[0]?.n).toBeGreaterThan(1_000);

    // Back to idle: CPU time of every process over one quiet second.
    await Bun.sleep(1_500);
    const before = await Promise.all(stack.processes.map((p) => cpuSecondsOf(p.pid)));
    await Bun.sleep(1_000);
    const after = await Promise.all(stack.processes.map((p) => cpuSecondsOf(p.pid)));
    const used = after.map((a, i) => Math.round((a - (before[i] as number)) * 100) / 100);
    console.log(`real tier: CPU seconds over an idle second, per process: ${JSON.stringify(used)}`);
    for (const seconds of used) expect(seconds).toBeLessThan(0.2);
  }, 90_000);
});
