/**
 * Settings of `bun run bench:queries` (bench/queries.bench.ts): like options.ts for the command benchmark, the
 * one module of this benchmark that reads `process.env`. The defaults keep a full run under about three
 * minutes on two cores.
 */
import { z } from "zod";
import { envSchema, fallbackBoundOf } from "../src/config";

const positiveInt = z.coerce.number().int().positive();
const seconds = z.coerce.number().positive();
const share = z.coerce.number().min(0).max(1);
const list = z
  .string()
  .transform((s) => s.split(",").map((c) => Number(c.trim())))
  .pipe(z.array(z.number().int().positive()).min(1));

/** The measurements of the benchmark (items 1-2, 3, 4 and 5), each of which can be run alone. */
export const queryBenchItems = ["latency", "lag", "mix", "outage"] as const;
/** One of {@link queryBenchItems}. */
export type QueryBenchItem = (typeof queryBenchItems)[number];

const queryBenchEnvSchema = z.object({
  BENCH_QUERY_SECONDS: seconds.default(4),
  BENCH_QUERY_SLICES: positiveInt.default(4),
  BENCH_QUERY_WARMUP_SECONDS: seconds.default(3),
  BENCH_QUERY_CONCURRENCY: list.default([1, 16]),
  BENCH_QUERY_SMALL_USERS: positiveInt.default(10_000),
  BENCH_QUERY_LARGE_USERS: positiveInt.default(100_000),
  BENCH_LAG_RATE: positiveInt.default(25),
  BENCH_LAG_SECONDS: seconds.default(20),
  BENCH_LAG_WARMUP_SECONDS: seconds.default(5),
  BENCH_LAG_FULL_SECONDS: seconds.default(4),
  BENCH_LAG_FULL_LARGE_SECONDS: seconds.default(2),
  BENCH_LAG_TIMEOUT_SECONDS: seconds.default(30),
  BENCH_LAG_SAMPLES_FILE: z.string().optional(),
  BENCH_ZIPF_SECONDS: seconds.default(10),
  BENCH_ZIPF_WARMUP_SECONDS: seconds.default(60),
  BENCH_ZIPF_PRIME_USERS: z.coerce.number().int().min(0).default(1_000),
  BENCH_ZIPF_EXPONENT: z.coerce.number().positive().default(1.1),
  BENCH_ZIPF_CONCURRENCY: positiveInt.default(16),
  BENCH_ZIPF_WRITE_SHARE: share.default(0.05),
  BENCH_OUTAGE_SECONDS: seconds.default(6),
  BENCH_OUTAGE_CONCURRENCY: positiveInt.default(16),
  BENCH_OUTAGE_WIDE_BOUND: positiveInt.optional(),
  BENCH_PROFILE_DIR: z.string().min(1).optional(),
  BENCH_QUERY_ITEMS: z
    .string()
    .transform((s) => s.split(",").map((i) => i.trim()))
    .pipe(z.array(z.enum(queryBenchItems)).min(1))
    .default([...queryBenchItems]),
});

/** Typed settings of the query benchmark. */
export interface QueryBenchOptions {
  /** Measured time of each (workload, concurrency) cell of the latency matrix, ms (`BENCH_QUERY_SECONDS`). */
  readonly durationMs: number;
  /** Interleaved slices per cell (`BENCH_QUERY_SLICES`). */
  readonly slices: number;
  /** Warm-up of every latency workload before measuring, ms (`BENCH_QUERY_WARMUP_SECONDS`). */
  readonly warmupMs: number;
  /** Closed-loop lanes of the latency matrix (`BENCH_QUERY_CONCURRENCY`, comma-separated). */
  readonly concurrencies: readonly number[];
  /** Users of the small and the large database (`BENCH_QUERY_SMALL_USERS`, `BENCH_QUERY_LARGE_USERS`). */
  readonly smallUsers: number;
  readonly largeUsers: number;
  /** UpdateUserProfile commands per second of the lag probe, on each deployment (`BENCH_LAG_RATE`). */
  readonly lagRate: number;
  /**
   * Sending time of the keyed lag cells, ms (`BENCH_LAG_SECONDS`): the two sizes' cells run interleaved in
   * this one window, so each gets `lagRate` × this many samples (500 by default: a p99 from its 5 worst).
   */
  readonly lagMs: number;
  /**
   * Warm-up of both deployments before the keyed lag cells, ms (`BENCH_LAG_WARMUP_SECONDS`): the calls of a lag
   * sample in a closed loop, so that the large deployment's processes are as warm as the small one's.
   */
  readonly lagWarmupMs: number;
  /** Sending time of the full-refresh cell on the small database, ms (`BENCH_LAG_FULL_SECONDS`). */
  readonly lagFullMs: number;
  /** Sending time of the full-refresh cell on the large database, ms (`BENCH_LAG_FULL_LARGE_SECONDS`). */
  readonly lagFullLargeMs: number;
  /** A lag sample not visible after this long counts as timed out, ms (`BENCH_LAG_TIMEOUT_SECONDS`). */
  readonly lagTimeoutMs: number;
  /** Where to write every lag sample with its stamps, one JSON object a line (`BENCH_LAG_SAMPLES_FILE`). */
  readonly lagSamplesFile: string | undefined;
  /**
   * Measured time and warm-up of the zipf mix, ms (`BENCH_ZIPF_SECONDS`, `BENCH_ZIPF_WARMUP_SECONDS`). The
   * warm-up should last at least the cache's TTL (60 s by default) for the window to see a steady state.
   */
  readonly zipfMs: number;
  readonly zipfWarmupMs: number;
  /** The cache is primed with the answers of this many of the most popular users (`BENCH_ZIPF_PRIME_USERS`). */
  readonly zipfPrimeUsers: number;
  /** Zipf exponent s (`BENCH_ZIPF_EXPONENT`). */
  readonly zipfExponent: number;
  /** Closed-loop lanes of the zipf mix (`BENCH_ZIPF_CONCURRENCY`). */
  readonly zipfConcurrency: number;
  /** Share of writes in the zipf mix, 0..1 (`BENCH_ZIPF_WRITE_SHARE`). */
  readonly zipfWriteShare: number;
  /** Measured time of each gateway's reads with the consistency role stopped, ms (`BENCH_OUTAGE_SECONDS`). */
  readonly outageMs: number;
  /** Closed-loop lanes of those reads (`BENCH_OUTAGE_CONCURRENCY`; default the latency matrix's highest). */
  readonly outageConcurrency: number;
  /**
   * READ_FALLBACK_CONCURRENCY of the deployment's gateways: the service's default, or what this environment
   * sets (the child processes inherit it).
   */
  readonly outageDefaultBound: number;
  /** READ_FALLBACK_CONCURRENCY of the second gateway of the outage cell (`BENCH_OUTAGE_WIDE_BOUND`; default the lanes). */
  readonly outageWideBound: number;
  /**
   * The items to run (`BENCH_QUERY_ITEMS`, comma-separated of latency, lag, mix, outage; default all). Without
   * `lag` the large database is not seeded; a partial run's verdicts cover only what ran.
   */
  readonly items: ReadonlySet<QueryBenchItem>;
  /**
   * When set (`BENCH_PROFILE_DIR`), the small deployment's worker, relay and gateway run under Bun's CPU
   * profiler and write `<role>-<n>.cpuprofile` and `.md` there when they stop (at the end of the run).
   */
  readonly profileDir?: string;
}

/** Parses the environment; throws naming each bad variable. */
export function loadQueryBenchOptions(
  env: Record<string, string | undefined> = process.env,
): QueryBenchOptions {
  const parsed = queryBenchEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid benchmark settings: ${problems.join("; ")}`);
  }
  const e = parsed.data;
  return {
    durationMs: e.BENCH_QUERY_SECONDS * 1000,
    slices: e.BENCH_QUERY_SLICES,
    warmupMs: e.BENCH_QUERY_WARMUP_SECONDS * 1000,
    concurrencies: e.BENCH_QUERY_CONCURRENCY,
    smallUsers: e.BENCH_QUERY_SMALL_USERS,
    largeUsers: e.BENCH_QUERY_LARGE_USERS,
    lagRate: e.BENCH_LAG_RATE,
    lagMs: e.BENCH_LAG_SECONDS * 1000,
    lagWarmupMs: e.BENCH_LAG_WARMUP_SECONDS * 1000,
    lagFullMs: e.BENCH_LAG_FULL_SECONDS * 1000,
    lagFullLargeMs: e.BENCH_LAG_FULL_LARGE_SECONDS * 1000,
    lagTimeoutMs: e.BENCH_LAG_TIMEOUT_SECONDS * 1000,
    lagSamplesFile: e.BENCH_LAG_SAMPLES_FILE,
    zipfMs: e.BENCH_ZIPF_SECONDS * 1000,
    zipfWarmupMs: e.BENCH_ZIPF_WARMUP_SECONDS * 1000,
    zipfPrimeUsers: e.BENCH_ZIPF_PRIME_USERS,
    zipfExponent: e.BENCH_ZIPF_EXPONENT,
    zipfConcurrency: e.BENCH_ZIPF_CONCURRENCY,
    zipfWriteShare: e.BENCH_ZIPF_WRITE_SHARE,
    outageMs: e.BENCH_OUTAGE_SECONDS * 1000,
    outageConcurrency: e.BENCH_OUTAGE_CONCURRENCY,
    outageDefaultBound:
      envSchema.shape.READ_FALLBACK_CONCURRENCY.parse(env.READ_FALLBACK_CONCURRENCY) ??
      fallbackBoundOf(envSchema.shape.DB_POOL_SIZE.parse(env.DB_POOL_SIZE)),
    outageWideBound: e.BENCH_OUTAGE_WIDE_BOUND ?? e.BENCH_OUTAGE_CONCURRENCY,
    items: new Set(e.BENCH_QUERY_ITEMS),
    ...(e.BENCH_PROFILE_DIR === undefined ? {} : { profileDir: e.BENCH_PROFILE_DIR }),
  };
}
