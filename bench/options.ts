/**
 * The benchmark's settings: the one module of bench/ that reads `process.env` (as src/config.ts is for the
 * service). Every value has a default that keeps a full run under about three minutes on two cores.
 */
import { z } from "zod";

const positiveInt = z.coerce.number().int().positive();
const seconds = z.coerce.number().positive();
const share = z.coerce.number().min(0).max(1);
const flag = z.enum(["0", "1", "true", "false"]).transform((v) => v === "1" || v === "true");

const benchEnvSchema = z.object({
  BENCH_SECONDS: seconds.default(5),
  BENCH_WARMUP_SECONDS: seconds.default(3),
  BENCH_SLICES: positiveInt.default(5),
  BENCH_CONCURRENCY: z
    .string()
    .default("1,16,64")
    .transform((s) => s.split(",").map((c) => Number(c.trim())))
    .pipe(z.array(z.number().int().positive()).min(1)),
  BENCH_USERS: positiveInt.default(200),
  BENCH_CONVERSATIONS: positiveInt.default(1000),
  BENCH_CREATE_USER_SHARE: share.default(0.1),
  BENCH_MAX_POOL: positiveInt.default(64),
  BENCH_RELAY: flag.default(true),
  BENCH_NATS_ROW: flag.default(true),
  BENCH_PEER_ROWS: flag.default(true),
  BENCH_PROFILE_DIR: z.string().min(1).optional(),
  BENCH_LIVE: flag.default(true),
  BENCH_LIVE_SECONDS: seconds.optional(),
  BENCH_LIVE_RATE: positiveInt.default(50),
  BENCH_LIVE_LANES: z.coerce.number().int().min(0).default(8),
});

/** Typed benchmark settings. */
export interface BenchOptions {
  /** Measured duration of each (workload, concurrency) cell, ms (`BENCH_SECONDS`). */
  readonly durationMs: number;
  /**
   * Each cell's duration is cut into this many slices, run in turn with the other workloads' slices
   * (`BENCH_SLICES`), so that load from outside the benchmark falls on every workload alike.
   */
  readonly slices: number;
  /** Warm-up of the command path before measuring, ms (`BENCH_WARMUP_SECONDS`); other workloads get a third. */
  readonly warmupMs: number;
  /** Closed-loop client lanes (`BENCH_CONCURRENCY`, comma-separated). */
  readonly concurrencies: readonly number[];
  /** Users owning the conversations (`BENCH_USERS`). */
  readonly users: number;
  /** Conversations the turns are spread over (`BENCH_CONVERSATIONS`). */
  readonly conversations: number;
  /** Share of CreateUser in the command mix, 0..1; the rest is RecordConversationTurn. */
  readonly createUserShare: number;
  /** Largest pg.Pool of the bare insert workload (`BENCH_MAX_POOL`). */
  readonly maxPool: number;
  /** Run the outbox relay beside the gateway and worker, as a deployment would (`BENCH_RELAY`). */
  readonly relay: boolean;
  /** Also measure a bare JetStream publish (ack round trip) row (`BENCH_NATS_ROW`). */
  readonly natsRow: boolean;
  /** Also measure the peers (`BENCH_PEER_ROWS`): Emmett in process and behind grpc-js (emmett-peer.ts). */
  readonly peerRows: boolean;
  /**
   * When set (`BENCH_PROFILE_DIR`), the service's role processes run under Bun's CPU profiler and write
   * `<role>-<n>.md` (and `.cpuprofile`) there when the run ends. Main threads only: command threads are not
   * sampled. The profiler costs some CPU itself, so compare shares, not the run's numbers.
   */
  readonly profileDir?: string;
  /**
   * The real-time delivery section (live-delivery.ts), unless `BENCH_LIVE=0`: a WatchConversation
   * subscriber's delay from send, the speaker recording `rate` turns/s (`BENCH_LIVE_RATE`) for `ms`
   * (`BENCH_LIVE_SECONDS`, default BENCH_SECONDS) while `lanes` other lanes record turns (`BENCH_LIVE_LANES`).
   */
  readonly live: { readonly ms: number; readonly rate: number; readonly lanes: number } | undefined;
}

/** Parses the environment; throws naming each bad variable. */
export function loadBenchOptions(env: Record<string, string | undefined> = process.env): BenchOptions {
  const parsed = benchEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new Error(`invalid benchmark settings: ${problems.join("; ")}`);
  }
  const e = parsed.data;
  return {
    durationMs: e.BENCH_SECONDS * 1000,
    warmupMs: e.BENCH_WARMUP_SECONDS * 1000,
    slices: e.BENCH_SLICES,
    concurrencies: e.BENCH_CONCURRENCY,
    users: e.BENCH_USERS,
    conversations: e.BENCH_CONVERSATIONS,
    createUserShare: e.BENCH_CREATE_USER_SHARE,
    maxPool: e.BENCH_MAX_POOL,
    relay: e.BENCH_RELAY,
    natsRow: e.BENCH_NATS_ROW,
    peerRows: e.BENCH_PEER_ROWS,
    live: e.BENCH_LIVE
      ? {
          ms: (e.BENCH_LIVE_SECONDS ?? e.BENCH_SECONDS) * 1000,
          rate: e.BENCH_LIVE_RATE,
          lanes: e.BENCH_LIVE_LANES,
        }
      : undefined,
    ...(e.BENCH_PROFILE_DIR === undefined ? {} : { profileDir: e.BENCH_PROFILE_DIR }),
  };
}
