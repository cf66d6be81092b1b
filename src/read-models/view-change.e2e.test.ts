/**
 * Changing a view under load, on the real tier (gateway, worker, relay and consistency processes): while face
 * models are registered and read back through the API, a migration registers face_model_summary_view's next
 * version (a new column); the consistency leader builds it beside the old one, swaps it in and drops the old one.
 * Every read succeeds, comes from the view (the gateway has no fallback slot), and shows the write its token
 * names; the view then has the new column and equals its new source.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createGrpcClient, type GrpcClient, mintToken } from "../gateway";
import { CommandService } from "../gen/clone/v1/command_service_pb";
import { AnswerSource } from "../gen/clone/v1/enums_pb";
import { createQueryCallers, type QueryCaller } from "../queries/callers.testkit";
import { createTestStack, type TestStack } from "../testing";
import { listViewBuilds } from "./view-builds";
import { faceModelSummaryNextVersion } from "./view-change.testkit";

const secret = "e2e-secret-0123456789abcdef";
let stack: TestStack;
let commands: GrpcClient<typeof CommandService>;
let queries: QueryCaller[] = [];
let token: string;
const userId = crypto.randomUUID();

beforeAll(async () => {
  stack = await createTestStack({ AUTH_JWT_SECRET: secret, OUTBOX_POLL_MS: "200" });
  await stack.start("worker");
  await stack.start("relay");
  await stack.start("consistency");
  const gateway = await stack.addresses(await stack.start("gateway", { READ_FALLBACK_CONCURRENCY: "0" }));
  commands = createGrpcClient(CommandService, gateway.grpc);
  token = await mintToken({ sub: userId, role: "user", secret });
  queries = createQueryCallers(gateway, token);
  await commands.call("createUser", { userId, email: "vc@example.com", displayName: "Views" }, { token });
  for (let i = 0; i < 40; i++)
    await commands.call("registerFaceModel", { userId, name: `seed${i}`, sampleSeconds: 5 }, { token });
}, 60_000);

afterAll(async () => {
  for (const q of queries) q.close();
  commands?.close();
  await stack?.stop();
});

type Listed = { faceModels: { faceModelId: string }[]; meta?: { source: AnswerSource } };

describe("a view changed under load", () => {
  test("is built beside the old one and swapped in with no failed, stale or write-model read", async () => {
    const failures: string[] = [];
    const stale: string[] = [];
    let reads = 0;
    let swapped = false;
    let afterSwap = 0;
    const load = (async () => {
      for (let i = 0; !swapped || afterSwap < 5; i++) {
        const r = (await commands.call(
          "registerFaceModel",
          { userId, name: `w${i}`, sampleSeconds: 5 },
          { token },
        )) as {
          result?: { consistencyToken: string; aggregateId: string };
        };
        const id = r.result?.aggregateId ?? "";
        for (const q of queries) {
          try {
            const answer = (await q.call(
              "listFaceModels",
              { userId, options: { minConsistencyToken: r.result?.consistencyToken ?? "" } },
              10_000,
            )) as Listed;
            reads++;
            if (!answer.faceModels.some((m) => m.faceModelId === id)) stale.push(`${q.name}: ${id}`);
            if (answer.meta?.source !== AnswerSource.VIEW && answer.meta?.source !== AnswerSource.CACHE)
              failures.push(`${q.name}: answered from ${answer.meta?.source}`);
          } catch (error) {
            failures.push(`${q.name}: ${String(error)}`);
          }
        }
        if (swapped) afterSwap++;
        if (failures.length > 5) return;
      }
    })();
    await Bun.sleep(500);
    await stack.db.pool.query(faceModelSummaryNextVersion);
    const deadline = Date.now() + 25_000;
    while ((await listViewBuilds(stack.db.pool)).length > 0 && Date.now() < deadline) await Bun.sleep(100);
    swapped = (await listViewBuilds(stack.db.pool)).length === 0;
    if (!swapped) failures.push("the build did not finish within 25 s");
    swapped = true;
    await load;
    if (failures.length > 0)
      console.error(
        stack.processes
          .flatMap((p) => p.logs)
          .filter((l) => Number(l.level) >= 40)
          .map((l) => JSON.stringify(l).slice(0, 800)),
      );
    expect(failures).toEqual([]);
    expect(stale).toEqual([]);
    expect(reads).toBeGreaterThan(20);
    const columns = await stack.db.pool.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'face_model_summary_view'",
    );
    expect(columns.rows.map((c) => c.column_name)).toContain("average_clone_turns");
    const keys = await stack.db.pool.query<{ keys: string[] }>(
      "SELECT read_view_next_keys('face_model_summary_view', '00000000-0000-0000-0000-000000000000', 100000) AS keys",
    );
    expect(keys.rows[0]?.keys.length).toBeGreaterThan(40);
    const diff = await stack.db.pool.query(
      "SELECT key FROM read_view_differences('face_model_summary_view', $1)",
      [keys.rows[0]?.keys ?? []],
    );
    expect(diff.rows).toEqual([]);
  }, 60_000);
});
