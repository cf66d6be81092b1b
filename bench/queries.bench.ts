/**
 * `bun run bench:queries`: the query path and the consistency path, measured in one run beside baselines (on a
 * small shared machine only ratios from one run compare):
 *
 * 1. cached GetUserProfile (gateway → query bus → cache) against a bare grpc-js echo, at each concurrency;
 * 2. GetUserProfile with bypass_cache against echo + a bare pg primary-key SELECT of the same row;
 * 3. consistency lag (lag-probe.ts) with 10k and with 100k users, keyed refresh (keyed cells interleaved
 *    between the two databases) and full refresh (the consistency role restarted in that mode; the 100k cell
 *    sends for a shorter time);
 * 4. the cache hit rate under a zipf-distributed read-heavy mix (query-mix.ts);
 * 5. the read side down: every QueryService read with the consistency role stopped, answered from the write
 *    model, compared with the views' answers once it is back (query-outage.ts).
 *
 * Item 2 also has the strong read (consistency STRONG, from the write model) beside the view read. They run
 * in the order 1-2, 3 keyed, 4, 3 full, 5 (see lag-cells.ts for why).
 *
 * `BENCH_QUERY_ITEMS` runs some of the items only (e.g. `latency,outage`; the large database then only with
 * `lag`).
 *
 * Two deployments, one per database size, each worker + relay + gateway + consistency as child processes on
 * a fresh database seeded straight into the write model (query-seed.ts) and its own NATS prefix. Latency
 * cells run interleaved in slices (interleave.ts). Prints markdown tables and one verdict per target, exits
 * 0 whatever they say (1 only when it could not run), and cleans up (processes, databases, streams) also on
 * error or Ctrl-C.
 */

import { createGrpcClient } from "../src/gateway";
import { CommandService } from "../src/gen/clone/v1/command_service_pb";
import { QueryService } from "../src/gen/clone/v1/query_service_pb";
import { createTestDatabase, createTestNats, type TestDatabase, type TestNats } from "../src/testing";
import { startBenchChild } from "./child-process";
import { createLagCells } from "./lag-cells";
import { formatLag } from "./lag-report";
import { createCleanups } from "./query-cleanups";
import { type Deployment, deploy } from "./query-deployment";
import { measureHitRate } from "./query-hit-rate";
import { measureLatency } from "./query-latency";
import { loadQueryBenchOptions } from "./query-options";
import { measureOutage } from "./query-outage";
import { formatOutage, formatOutageVerdicts, formatStrongLines } from "./query-outage-report";
import {
  formatLatency,
  formatLatencyCpu,
  formatMix,
  formatQueryVerdicts,
  type LatencyResults,
} from "./query-report";
import { type SeedResult, seedDatabase } from "./query-seed";
import { type QueryStack, startQueryStack } from "./query-stack";

const JWT_SECRET = "bench-secret-0123456789abcdef";
const progress = (line: string) => process.stderr.write(`${line}\n`);
const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);
const cleanups = createCleanups(progress);
let interrupted = false;

async function main(): Promise<void> {
  const options = loadQueryBenchOptions();
  const startedAt = performance.now();
  progress(
    `bench:queries: ${options.smallUsers} and ${options.largeUsers} users; latency ${options.durationMs / 1000} s ` +
      `per cell at concurrency ${options.concurrencies.join(", ")}; lag ${options.lagRate}/s; zipf ${options.zipfMs / 1000} s`,
  );

  const run = options.items;
  // The large deployment serves only the lag cells.
  const sizes = run.has("lag") ? [options.smallUsers, options.largeUsers] : [options.smallUsers];
  const dbs = await cleanups.all(
    sizes.map(() => createTestDatabase({ poolMax: 2 })),
    (db) => db.drop(),
  );
  const natses = await cleanups.all(
    sizes.map(() => createTestNats()),
    (n) => n.cleanup(),
  );
  let t = performance.now();
  const seeds = await Promise.all(sizes.map((n, i) => seedDatabase((dbs[i] as TestDatabase).pool, n)));
  sizes.forEach((n, i) => {
    const s = seeds[i] as SeedResult;
    progress(
      `seeded ${n} users (+ as many conversations, 2 turns each, a document per 10 users): write model ` +
        `${(s.writeModelMs / 1000).toFixed(1)} s, refresh_all_materialized_views() ${(s.refreshMs / 1000).toFixed(1)} s, ` +
        `VACUUM ANALYZE ${(s.analyzeMs / 1000).toFixed(1)} s`,
    );
  });
  t = performance.now();
  const stacks = await cleanups.all(
    sizes.map((_, i) =>
      startQueryStack(dbs[i] as TestDatabase, natses[i] as TestNats, {
        jwtSecret: JWT_SECRET,
        mode: "keyed",
        profileDir: i === 0 ? options.profileDir : undefined,
      }),
    ),
    (s) => s.stop(),
  );
  const deployments: Deployment[] = [];
  for (const [i, users] of sizes.entries()) {
    deployments.push(
      await deploy(
        {
          users,
          db: dbs[i] as TestDatabase,
          nats: natses[i] as TestNats,
          seed: seeds[i] as SeedResult,
          stack: stacks[i] as QueryStack,
        },
        JWT_SECRET,
        cleanups,
      ),
    );
  }
  const [small, large] = deployments as [Deployment, Deployment | undefined];
  const echo = await cleanups.track(
    await startBenchChild(new URL("./echo-server.ts", import.meta.url), (l) => l.msg === "echo listening"),
    (e) => e.stop(),
  );
  const echoClient = await cleanups.track(
    createGrpcClient(CommandService, `127.0.0.1:${echo.ready.port as number}`),
    async (c) => c.close(),
  );
  await small.target.tokens.mintAll(small.target.users);
  progress(
    `${deployments.length} deployment(s) and the echo server started, ${small.users} tokens minted in ${seconds(t)} s`,
  );

  const latency: LatencyResults = run.has("latency")
    ? await measureLatency(options, small, { client: echoClient, pid: echo.pid }, progress)
    : new Map();
  // Keyed lag before the zipf mix, whose writes would leave the small database with a history the large lacks.
  const lagCells = large ? await createLagCells(options, small, large, cleanups, progress) : undefined;
  const keyedLag = lagCells ? await lagCells.keyed() : [];
  const mix = run.has("mix") ? await measureHitRate(options, small, progress) : undefined;
  const lag = [...keyedLag, ...(lagCells ? await lagCells.full() : [])];
  const outage = run.has("outage")
    ? await measureOutage(
        options,
        small,
        async (env) => cleanups.track(await small.stack.startGateway(env), (g) => g.stop()),
        (address) => createGrpcClient(QueryService, address),
        progress,
      )
    : undefined;

  const setting =
    `latency: ${options.durationMs / 1000} s per cell in ${options.slices} interleaved slices on the ` +
    `${small.users}-user deployment; each deployment: 1 gateway, 1 worker, 1 relay, 1 consistency role ` +
    `(service defaults); total ${seconds(startedAt)} s`;
  const section = (ran: boolean, lines: string[]) => (ran ? lines : []);
  console.log(
    [
      ...section(run.has("latency"), [
        "",
        "## 1-2. Query latency",
        "",
        formatLatency(latency),
        "",
        formatLatencyCpu(latency),
      ]),
      ...section(lag.length > 0, [
        "",
        "## 3. Consistency lag",
        "",
        "lag = from the client having CommandService.UpdateUserProfile's answer to the first GetUserProfile through " +
          "the gateway (cache on; the old answer was cached just before the command) that returns the new " +
          "display_name; polled every 1 ms once the invalidation broadcast is seen, every 100 ms before.",
        "",
        formatLag(lag),
      ]),
      ...(mix ? ["", "## 4. Cache hit rate under a zipf mix", "", formatMix(mix)] : []),
      ...(outage
        ? ["", "## 5. The read side down (consistency role stopped)", "", formatOutage(outage)]
        : []),
      "",
      "## Verdicts",
      "",
      formatQueryVerdicts(latency, lag, mix, { small: options.smallUsers, large: options.largeUsers }),
      ...(outage ? [formatOutageVerdicts(outage)] : []),
      formatStrongLines(latency),
      "",
      `(${run.size < 4 ? `items ${[...run].join(", ")} only; ` : ""}${setting})`,
    ].join("\n"),
  );
}

/** How long an interrupted run waits for what was starting to stop itself (see query-cleanups.ts) before it exits. */
const INTERRUPT_GRACE_MS = 10_000;
const running = main();

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    progress(`${signal}: cleaning up`);
    interrupted = true;
    void cleanups
      .run()
      .then(() => Promise.race([running.catch(() => {}), Bun.sleep(INTERRUPT_GRACE_MS)]))
      .finally(() => process.exit(130));
  });
}

// PASS or FAIL, a finished run exits 0; only a run that could not measure (a crash, a missing service) exits 1.
let exitCode = 0;
try {
  await running;
} catch (error) {
  if (!interrupted)
    console.error("bench:queries failed:", error instanceof Error ? (error.stack ?? error.message) : error);
  exitCode = 1;
} finally {
  await cleanups.run();
}
process.exit(interrupted ? 130 : exitCode);
