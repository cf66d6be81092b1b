/**
 * `bun run bench:queries`: the query path and the consistency path, measured in one run beside baselines (on a
 * small shared machine only ratios from one run compare):
 *
 * 1. cached GetUserProfile (gateway → query bus → cache) against a bare grpc-js echo, at each concurrency;
 * 2. GetUserProfile with bypass_cache against echo + a bare pg primary-key SELECT of the same row;
 * 3. consistency lag (lag-probe.ts) with 10k and with 100k users, keyed refresh (keyed cells interleaved
 *    between the two databases) and full refresh (the consistency role restarted in that mode; the 100k cell
 *    sends for a shorter time);
 * 4. the cache hit rate under a zipf-distributed read-heavy mix (query-mix.ts).
 *
 * Two deployments, one per database size, each worker + relay + gateway + consistency as child processes on
 * a fresh database seeded straight into the write model (query-seed.ts) and its own NATS prefix. Latency
 * cells run interleaved in slices (interleave.ts). Prints markdown tables and one verdict per target, exits
 * 0 whatever they say (1 only when it could not run), and cleans up (processes, databases, streams) also on
 * error or Ctrl-C.
 */
import { loadConfig } from "../src/config";
import { createGrpcClient, type GrpcClient } from "../src/gateway";
import { CommandService } from "../src/gen/clone/v1/command_service_pb";
import { QueryService } from "../src/gen/clone/v1/query_service_pb";
import { createTestDatabase, createTestNats, type TestDatabase, type TestNats } from "../src/testing";
import { startBenchChild } from "./child-process";
import { createCpuMeter } from "./cpu-meter";
import { runInterleaved } from "./interleave";
import { createLagProbe, type LagSample, type LagTarget } from "./lag-probe";
import { type Operation, runClosedLoop } from "./load";
import { delta, meanMs, scrape } from "./query-metrics";
import { createMixWorkload, mixReads } from "./query-mix";
import { loadQueryBenchOptions, type QueryBenchOptions } from "./query-options";
import {
  formatLag,
  formatLatency,
  formatLatencyCpu,
  formatMix,
  formatQueryVerdicts,
  type LagCell,
  type LatencyResults,
  type LatencyWorkload,
  lagOf,
  type MixResult,
} from "./query-report";
import { type SeedResult, seedDatabase } from "./query-seed";
import { type QueryStack, type RefreshMode, startQueryStack } from "./query-stack";
import {
  cachedProfileOp,
  createTokenBook,
  echoOp,
  preparePkSelect,
  type TokenBook,
  uncachedProfileOp,
  verifyTokens,
  warmProfiles,
} from "./query-workloads";
import { summarize } from "./stats";
import { createZipf, seededRandom, ttlHitRateBound } from "./zipf";

const JWT_SECRET = "bench-secret-0123456789abcdef";
/** The gateway's Postgres pool (DB_POOL_SIZE default): the bare SELECT gets a pool as large, at most. */
const GATEWAY_POOL = 10;
/** Users whose cached profiles the cached workload reads. */
const HOT_USERS = 64;
/** Users the uncached reads (and the bare SELECT) are spread over. */
const UNCACHED_USERS = 2_000;
const LAG_SLICES = 4;
const cleanups: Array<() => Promise<unknown>> = [];
const progress = (line: string) => process.stderr.write(`${line}\n`);
const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

let cleaning: Promise<void> | undefined;
let interrupted = false;

/** Runs the cleanups once, in reverse; a second call (Ctrl-C while main is failing) waits for the first. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.splice(0).reverse()) {
      await step().catch((error: unknown) => progress(`cleanup: ${String(error)}`));
    }
  })();
  return cleaning;
}

/**
 * Registers the cleanup of something that just started; when the cleanups already ran (Ctrl-C while it was
 * starting), cleans it up at once instead and fails.
 */
async function track<T>(value: T, stop: (value: T) => Promise<unknown>): Promise<T> {
  if (cleaning === undefined) {
    cleanups.push(() => stop(value));
    return value;
  }
  await stop(value).catch(() => {});
  throw new Error("interrupted");
}

/** Starts both, each cleanup registered as soon as it started; rethrows the first failure. */
async function both<T>(
  starts: readonly [Promise<T>, Promise<T>],
  stop: (value: T) => Promise<unknown>,
): Promise<[T, T]> {
  const settled = await Promise.allSettled(starts.map((p) => p.then((v) => track(v, stop))));
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value) as [T, T];
}

/** One deployment and its clients. */
interface Deployment {
  readonly users: number;
  readonly db: TestDatabase;
  readonly nats: TestNats;
  readonly seed: SeedResult;
  readonly stack: QueryStack;
  readonly target: LagTarget;
}

async function deploy(
  users: number,
  db: TestDatabase,
  nats: TestNats,
  seed: SeedResult,
  stack: QueryStack,
): Promise<Deployment> {
  const { query, command } = await track(
    {
      query: createGrpcClient(QueryService, stack.gatewayAddress),
      command: createGrpcClient(CommandService, stack.gatewayAddress),
    },
    async (c) => {
      c.query.close();
      c.command.close();
    },
  );
  const tokens: TokenBook = createTokenBook(JWT_SECRET);
  const target = { prefix: nats.prefix, query, command, tokens, users: seed.users.map((u) => u.userId) };
  return { users, db, nats, seed, stack, target };
}

async function main(): Promise<void> {
  const options = loadQueryBenchOptions();
  const startedAt = performance.now();
  progress(
    `bench:queries: ${options.smallUsers} and ${options.largeUsers} users; latency ${options.durationMs / 1000} s ` +
      `per cell at concurrency ${options.concurrencies.join(", ")}; lag ${options.lagRate}/s; zipf ${options.zipfMs / 1000} s`,
  );

  const [smallDb, largeDb] = await both(
    [createTestDatabase({ poolMax: 2 }), createTestDatabase({ poolMax: 2 })],
    (db) => db.drop(),
  );
  const [smallNats, largeNats] = await both([createTestNats(), createTestNats()], (n) => n.cleanup());
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
  const [smallStack, largeStack] = await both(
    [
      startQueryStack(smallDb, smallNats, { jwtSecret: JWT_SECRET, mode: "keyed" }),
      startQueryStack(largeDb, largeNats, { jwtSecret: JWT_SECRET, mode: "keyed" }),
    ],
    (s) => s.stop(),
  );
  const small = await deploy(options.smallUsers, smallDb, smallNats, smallSeed, smallStack);
  const large = await deploy(options.largeUsers, largeDb, largeNats, largeSeed, largeStack);
  const echo = await track(
    await startBenchChild(new URL("./echo-server.ts", import.meta.url), (l) => l.msg === "echo listening"),
    (e) => e.stop(),
  );
  const echoClient = await track(
    createGrpcClient(CommandService, `127.0.0.1:${echo.ready.port as number}`),
    async (c) => c.close(),
  );
  await small.target.tokens.mintAll(small.target.users);
  progress(`two deployments and the echo server started, ${small.users} tokens minted in ${seconds(t)} s`);

  const latency = await measureLatency(options, small, echoClient, echo.pid);
  const mix = await measureMix(options, small);
  const lag = await measureLag(options, small, large);

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
      mix ? formatMix(mix) : "n/a",
      "",
      "## Verdicts",
      "",
      formatQueryVerdicts(latency, lag, mix, { small: options.smallUsers, large: options.largeUsers }),
      "",
      `(${setting})`,
    ].join("\n"),
  );
}

/** Items 1 and 2: the four latency workloads interleaved, per concurrency, on the small deployment. */
async function measureLatency(
  options: QueryBenchOptions,
  d: Deployment,
  echoClient: GrpcClient<typeof CommandService>,
  echoPid: number,
): Promise<LatencyResults> {
  const { query, tokens } = d.target;
  const hot = d.target.users.slice(0, HOT_USERS);
  // The uncached reads go to many users, but to users that called before: the gateway remembers verified
  // tokens (src/gateway/auth.ts), and a first call per token would add a JWT verification the cached reads of
  // the hot users do not pay.
  const users = d.target.users.slice(0, UNCACHED_USERS);
  const ops: Record<Exclude<LatencyWorkload, "pk-select">, Operation> = {
    cached: cachedProfileOp(query, hot, tokens),
    uncached: uncachedProfileOp(query, users, tokens),
    echo: echoOp(echoClient, users, tokens),
  };
  const t = performance.now();
  await warmProfiles(query, hot, tokens);
  await verifyTokens(query, users, tokens);
  const warmPk = await preparePkSelect(d.db.url, GATEWAY_POOL, users);
  for (const op of [ops.cached, ops.uncached, ops.echo, warmPk.op])
    await runClosedLoop(16, options.warmupMs / 4, op);
  await warmPk.close();
  progress(`latency warm-up ${seconds(t)} s`);

  const gatewayPid = d.stack.pids().get("gateway");
  const meter = createCpuMeter({
    pids: new Map([...(gatewayPid ? [["gateway", gatewayPid] as const] : []), ["echo server", echoPid]]),
    database: { pool: d.db.pool, name: d.db.name },
  });
  const results: LatencyResults = new Map();
  for (const concurrency of options.concurrencies) {
    const pk = await preparePkSelect(d.db.url, Math.min(concurrency, GATEWAY_POOL), users);
    try {
      // Entries live QUERY_CACHE_TTL_MS (60 s): read the hot set again so no cell outlives it.
      await warmProfiles(query, hot, tokens);
      const measured = await runInterleaved<LatencyWorkload>(
        [
          { name: "cached", op: ops.cached },
          { name: "uncached", op: ops.uncached },
          { name: "echo", op: ops.echo },
          { name: "pk-select", op: pk.op },
        ],
        concurrency,
        options.durationMs,
        options.slices,
        meter,
      );
      const row = new Map();
      results.set(concurrency, row);
      for (const [name, { load, cpu }] of measured) {
        const summary = summarize(load);
        row.set(name, {
          summary,
          load,
          ...(cpu ? { cpu } : {}),
          ...(name === "pk-select" ? { note: `pool ${pk.poolSize}, random of ${users.length} users` } : {}),
          ...(name === "cached" ? { note: `random of ${HOT_USERS} hot users` } : {}),
          ...(name === "uncached"
            ? { note: `random of ${users.length} users (tokens verified before)` }
            : {}),
        });
        progress(
          `c=${concurrency} ${name}: ${summary.opsPerSecond.toFixed(0)} ops/s, p50 ${summary.p50Ms.toFixed(2)} ms, ` +
            `p99 ${summary.p99Ms.toFixed(2)} ms${summary.errors > 0 ? `, ${summary.errors} errors: ${load.errorSamples.join(" | ")}` : ""}`,
        );
      }
    } finally {
      await pk.close();
    }
  }
  return results;
}

/**
 * Item 4: the zipf mix on the small deployment. The cache is first primed with the three queries of the most
 * popular users (about what a long-running gateway holds), then the mix runs for a warm-up, then measured.
 */
async function measureMix(options: QueryBenchOptions, d: Deployment): Promise<MixResult> {
  const zipf = createZipf(d.seed.users.length, options.zipfExponent, 1);
  const mix = createMixWorkload({
    query: d.target.query,
    command: d.target.command,
    users: d.seed.users,
    tokens: d.target.tokens,
    zipf,
    random: seededRandom(2),
    writeShare: options.zipfWriteShare,
  });
  const t = performance.now();
  await mix.prime(Math.min(options.zipfPrimeUsers, d.seed.users.length), options.zipfConcurrency);
  await runClosedLoop(options.zipfConcurrency, options.zipfWarmupMs, mix.op);
  mix.reset();
  progress(`zipf mix: primed ${options.zipfPrimeUsers} users' answers and warmed up in ${seconds(t)} s`);
  const before = await scrape(d.stack.gatewayMetrics);
  const load = await runClosedLoop(options.zipfConcurrency, options.zipfMs, mix.op);
  const after = await scrape(d.stack.gatewayMetrics);
  const counter = (name: string) =>
    mixReads.reduce((n, queryType) => n + delta(before, after, name, { query_type: queryType }), 0);
  const counts = mix.counts();
  // The gateways inherit this environment, so this is their TTL.
  const ttlMs = loadConfig().cache.ttlMs;
  let bounded = 0;
  for (const c of counts.byType.values()) {
    const perSecond = c.reads / (load.windowMs / 1000);
    bounded += c.reads * ttlHitRateBound(zipf, d.seed.users.length, perSecond, ttlMs);
  }
  const reads = [...counts.byType.values()].reduce((n, c) => n + c.reads, 0);
  const result: MixResult = {
    counts,
    ttlMs,
    ttlBound: bounded / reads,
    load,
    gatewayHits: counter("clone_query_cache_hits_total"),
    gatewayMisses: counter("clone_query_cache_misses_total"),
    users: d.seed.users.length,
    exponent: options.zipfExponent,
    concurrency: options.zipfConcurrency,
    writeShare: options.zipfWriteShare,
    primedUsers: options.zipfPrimeUsers,
    warmupMs: options.zipfWarmupMs,
  };
  const s = summarize(load);
  progress(`zipf mix: ${s.opsPerSecond.toFixed(0)} ops/s, ${s.errors} errors`);
  return result;
}

/** Item 3: keyed cells interleaved between the deployments, then both restarted in full mode, one at a time. */
async function measureLag(
  options: QueryBenchOptions,
  small: Deployment,
  large: Deployment,
): Promise<LagCell[]> {
  const probe = await track(
    await createLagProbe(small.nats.url, [small.nats.prefix, large.nats.prefix]),
    (p) => p.close(),
  );
  const rate = options.lagRate;
  const timeoutMs = options.lagTimeoutMs;
  // Warm the command and event paths of both (the large one has served nothing yet); the zipf mix's events drain.
  for (const d of [small, large]) await probe.run(d.target, { rate, durationMs: 1_000, timeoutMs });

  const keyed = new Map<Deployment, LagSample[]>([
    [small, []],
    [large, []],
  ]);
  const before = new Map(
    await Promise.all([small, large].map(async (d) => [d, await scrapeLag(d)] as const)),
  );
  for (let slice = 0; slice < LAG_SLICES; slice++) {
    for (const d of [small, large]) {
      const samples = await probe.run(d.target, { rate, durationMs: options.lagMs / LAG_SLICES, timeoutMs });
      keyed.get(d)?.push(...samples);
    }
  }
  const cells: LagCell[] = [];
  for (const d of [small, large]) {
    const cell = lagCell(
      d,
      "keyed",
      rate,
      options.lagMs,
      keyed.get(d) ?? [],
      before.get(d),
      await scrapeLag(d),
    );
    cells.push(cell);
    progressLag(cell);
  }

  const t = performance.now();
  await Promise.all([small, large].map((d) => d.stack.restartConsistency("full")));
  progress(`consistency roles restarted with CONSISTENCY_REFRESH_MODE=full in ${seconds(t)} s`);
  for (const [d, sendMs] of [
    [small, options.lagFullMs],
    [large, options.lagFullLargeMs],
  ] as const) {
    const b = await scrapeLag(d);
    const samples = await probe.run(d.target, { rate, durationMs: sendMs, timeoutMs });
    const cell = lagCell(d, "full", rate, sendMs, samples, b, await scrapeLag(d));
    cells.push(cell);
    progressLag(cell);
  }
  return cells;
}

interface LagScrape {
  readonly consistency: Awaited<ReturnType<typeof scrape>>;
  readonly relay: Awaited<ReturnType<typeof scrape>>;
}

async function scrapeLag(d: Deployment): Promise<LagScrape> {
  const [consistency, relay] = await Promise.all([
    scrape(d.stack.consistencyMetrics()),
    scrape(d.stack.relayMetrics),
  ]);
  return { consistency, relay };
}

function lagCell(
  d: Deployment,
  mode: RefreshMode,
  rate: number,
  sendMs: number,
  samples: LagSample[],
  before: LagScrape | undefined,
  after: LagScrape,
): LagCell {
  const view = { view: "user_profile_view" };
  const none = { meanMs: Number.NaN, count: 0 };
  return {
    users: d.users,
    mode,
    rate,
    sendMs,
    samples,
    metrics: before
      ? {
          refresh: meanMs(before.consistency, after.consistency, "clone_view_refresh_duration_seconds", {
            ...view,
            mode,
          }),
          viewLag: meanMs(before.consistency, after.consistency, "clone_consistency_lag_seconds", view),
          publishDelay: meanMs(before.relay, after.relay, "clone_outbox_publish_delay_seconds"),
        }
      : { refresh: none, viewLag: none, publishDelay: none },
  };
}

function progressLag(cell: LagCell): void {
  const l = lagOf(cell);
  progress(
    `lag ${cell.users} users ${cell.mode}: ${l.visible}/${cell.samples.length} visible, p50 ${l.p50.toFixed(1)} ms, ` +
      `p99 ${l.p99.toFixed(1)} ms`,
  );
}

/** How long an interrupted run waits for what was starting to stop itself (see `track`) before it exits. */
const INTERRUPT_GRACE_MS = 10_000;
const running = main();

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    progress(`${signal}: cleaning up`);
    interrupted = true;
    void cleanup()
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
  await cleanup();
}
process.exit(interrupted ? 130 : exitCode);
