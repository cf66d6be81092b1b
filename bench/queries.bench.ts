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
 * Two deployments, one per database size, each worker + relay + gateway + consistency as child processes on
 * a fresh database seeded straight into the write model (query-seed.ts) and its own NATS prefix. Latency
 * cells run interleaved in slices (interleave.ts). Prints markdown tables and one verdict per target, exits
 * 0 whatever they say (1 only when it could not run), and cleans up (processes, databases, streams) also on
 * error or Ctrl-C.
 */

import { createGrpcClient } from "../src/gateway";
import { CommandService } from "../src/gen/clone/v1/command_service_pb";
import { QueryService } from "../src/gen/clone/v1/query_service_pb";
import { createTestDatabase, createTestNats } from "../src/testing";
import { startBenchChild } from "./child-process";
import { createLagCells } from "./lag-cells";
import { formatLag } from "./lag-report";
import { createCleanups } from "./query-cleanups";
import { deploy } from "./query-deployment";
import { measureHitRate } from "./query-hit-rate";
import { measureLatency } from "./query-latency";
import { loadQueryBenchOptions } from "./query-options";
import { measureOutage } from "./query-outage";
import { formatOutage, formatOutageVerdicts, formatStrongLines } from "./query-outage-report";
import { formatLatency, formatLatencyCpu, formatMix, formatQueryVerdicts } from "./query-report";
import { seedDatabase } from "./query-seed";
import { startQueryStack } from "./query-stack";

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

  const [smallDb, largeDb] = await cleanups.both(
    [createTestDatabase({ poolMax: 2 }), createTestDatabase({ poolMax: 2 })],
    (db) => db.drop(),
  );
  const [smallNats, largeNats] = await cleanups.both([createTestNats(), createTestNats()], (n) =>
    n.cleanup(),
  );
  let t = performance.now();
  const [smallSeed, largeSeed] = await Promise.all([
    seedDatabase(smallDb.pool, options.smallUsers),
    seedDatabase(largeDb.pool, options.largeUsers),
  ]);
  for (const [n, s] of [
    [options.smallUsers, smallSeed],
    [options.largeUsers, largeSeed],
  ] as const) {
    progress(
      `seeded ${n} users (+ as many conversations, 2 turns each, a document per 10 users): write model ` +
        `${(s.writeModelMs / 1000).toFixed(1)} s, refresh_all_materialized_views() ${(s.refreshMs / 1000).toFixed(1)} s, ` +
        `VACUUM ANALYZE ${(s.analyzeMs / 1000).toFixed(1)} s`,
    );
  }
  t = performance.now();
  const [smallStack, largeStack] = await cleanups.both(
    [
      startQueryStack(smallDb, smallNats, { jwtSecret: JWT_SECRET, mode: "keyed" }),
      startQueryStack(largeDb, largeNats, { jwtSecret: JWT_SECRET, mode: "keyed" }),
    ],
    (s) => s.stop(),
  );
  const small = await deploy(
    { users: options.smallUsers, db: smallDb, nats: smallNats, seed: smallSeed, stack: smallStack },
    JWT_SECRET,
    cleanups,
  );
  const large = await deploy(
    { users: options.largeUsers, db: largeDb, nats: largeNats, seed: largeSeed, stack: largeStack },
    JWT_SECRET,
    cleanups,
  );
  const echo = await cleanups.track(
    await startBenchChild(new URL("./echo-server.ts", import.meta.url), (l) => l.msg === "echo listening"),
    (e) => e.stop(),
  );
  const echoClient = await cleanups.track(
    createGrpcClient(CommandService, `127.0.0.1:${echo.ready.port as number}`),
    async (c) => c.close(),
  );
  await small.target.tokens.mintAll(small.target.users);
  progress(`two deployments and the echo server started, ${small.users} tokens minted in ${seconds(t)} s`);

  const latency = await measureLatency(options, small, { client: echoClient, pid: echo.pid }, progress);
  // Keyed lag before the zipf mix, whose writes would leave the small database with a history the large lacks.
  const lagCells = await createLagCells(options, small, large, cleanups, progress);
  const keyedLag = await lagCells.keyed();
  const mix = await measureHitRate(options, small, progress);
  const lag = [...keyedLag, ...(await lagCells.full())];
  const outage = await measureOutage(
    options,
    small,
    async (env) => cleanups.track(await small.stack.startGateway(env), (g) => g.stop()),
    (address) => createGrpcClient(QueryService, address),
    progress,
  );

  const setting =
    `latency: ${options.durationMs / 1000} s per cell in ${options.slices} interleaved slices on the ` +
    `${small.users}-user deployment; each deployment: 1 gateway, 1 worker, 1 relay, 1 consistency role ` +
    `(service defaults); total ${seconds(startedAt)} s`;
  console.log(
    [
      "",
      "## 1-2. Query latency",
      "",
      formatLatency(latency),
      "",
      formatLatencyCpu(latency),
      "",
      "## 3. Consistency lag",
      "",
      "lag = from the client having CommandService.UpdateUserProfile's answer to the first GetUserProfile through " +
        "the gateway (cache on; the old answer was cached just before the command) that returns the new " +
        "display_name; polled every 1 ms once the invalidation broadcast is seen, every 100 ms before.",
      "",
      formatLag(lag),
      "",
      "## 4. Cache hit rate under a zipf mix",
      "",
      formatMix(mix),
      "",
      "## 5. The read side down (consistency role stopped)",
      "",
      formatOutage(outage),
      "",
      "## Verdicts",
      "",
      formatQueryVerdicts(latency, lag, mix, { small: options.smallUsers, large: options.largeUsers }),
      formatOutageVerdicts(outage),
      formatStrongLines(latency),
      "",
      `(${setting})`,
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
