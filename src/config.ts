/**
 * The one place that reads `process.env`.
 *
 * Every setting is validated by a zod schema with a default and a documented unit; a bad value fails at
 * start-up with an error that names the variable. Everything else receives a typed {@link Config}.
 */
import { availableParallelism } from "node:os";
import { z } from "zod";
import { ConfigError } from "./errors";

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().min(0);
const optionalUrl = z
  .string()
  .trim()
  .transform((s) => (s === "" ? undefined : s))
  .pipe(z.url().optional())
  .optional();

const durationUnits = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** A duration as an integer and a unit (`ms`, `s`, `m`, `h`, `d`), e.g. `7d`; in milliseconds. */
const duration = z
  .string()
  .trim()
  .regex(/^\d+(ms|s|m|h|d)$/, "must be an integer with a unit: ms, s, m, h or d (e.g. 7d)")
  .transform((v) => {
    const [, n, unit] = /^(\d+)(ms|s|m|h|d)$/.exec(v) as unknown as [
      string,
      string,
      keyof typeof durationUnits,
    ];
    return Number(n) * durationUnits[unit];
  });

/** A comma-separated list of NATS server URLs (one or more nodes of a cluster); empty means unset. */
const natsServers = z
  .string()
  .trim()
  .transform((s) => (s === "" ? undefined : s))
  .pipe(
    z
      .string()
      .refine(
        (s) => s.split(",").every((part) => z.url().safeParse(part.trim()).success),
        "must be a URL or a comma-separated list of URLs",
      )
      .optional(),
  )
  .optional();

const booleanFlag = z
  .enum(["true", "false", "1", "0", "yes", "no", ""])
  .transform((v) => v === "true" || v === "1" || v === "yes");

/** Schema of the environment variables this service understands. */
export const envSchema = z.object({
  DATABASE_URL: optionalUrl,
  // The database the gateways' queries read the views from (a streaming replica); default DATABASE_URL.
  READ_DATABASE_URL: optionalUrl,
  NATS_URL: natsServers,
  // Replicas of the COMMANDS and EVENTS streams (and their consumers): 1 on one server, 3 on a cluster.
  NATS_STREAM_REPLICAS: positiveInt.max(5).default(1),
  AUTH_JWT_SECRET: z
    .string()
    .min(16, "must be at least 16 characters")
    .default("dev-secret-change-me-0123456789"),
  AUTH_JWKS_URL: optionalUrl,
  GRPC_HOST: z.string().default("0.0.0.0"),
  GRPC_PORT: port.default(50051),
  HTTP_PORT: port.default(8080),
  METRICS_PORT: port.default(9464),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  // Query result cache. The TTL is a safety net behind event-driven invalidation. The entry bound should hold
  // the working set within the TTL: 10k did not for 10k users (bench:queries' zipf mix keeps ~11k answers
  // live and evicted live ones); 50k small answers take about 60 MB of heap (~1.2 KB each, measured), and
  // QUERY_CACHE_MAX_BYTES bounds large ones.
  QUERY_CACHE_TTL_MS: nonNegativeInt.default(60_000),
  QUERY_CACHE_MAX_ENTRIES: positiveInt.default(50_000),
  QUERY_CACHE_MAX_BYTES: positiveInt.default(64 * 1024 * 1024),
  QUERY_CACHE_REFRESH_AHEAD: z.coerce.number().min(0).max(1).default(0.5),
  QUERY_CACHE_RELOAD_INVALIDATED: z
    .enum(["0", "1", "true", "false"])
    .default("true")
    .transform((v) => v === "1" || v === "true"),
  // How long a query with a min_consistency_token waits for the views when its call has no deadline.
  QUERY_WAIT_MAX_MS: positiveInt.default(10_000),
  // Fallback of eventual reads to the write model: after this wait for a token, or while the read side has
  // been behind (no heartbeat) this long; at most this many fallback reads at once per gateway (0: none;
  // default half of DB_POOL_SIZE, see fallbackBoundOf), a read finding none free waiting up to
  // READ_FALLBACK_QUEUE_MS for one (0: not at all).
  READ_FALLBACK_WAIT_MS: nonNegativeInt.default(1_000),
  READ_FALLBACK_STALENESS_MS: positiveInt.default(10_000),
  READ_FALLBACK_CONCURRENCY: nonNegativeInt.optional(),
  // 100: the p99 a read should answer within; on a machine so loaded that a slot takes longer to free up,
  // the views (as they are) answer sooner. 50 left 1-4% of 16 lanes' reads to the views at load average ~15.
  READ_FALLBACK_QUEUE_MS: nonNegativeInt.default(100),
  WORKER_THREADS: positiveInt.optional(),
  WORKER_TRANSACTIONS: positiveInt.default(2),
  WORKER_BUSY_BATCH: positiveInt.default(4),
  CONSISTENCY_THREADS: positiveInt.default(2),
  CONSISTENCY_REFRESH_MODE: z.enum(["keyed", "full"]).default("keyed"),
  // Scheduled reconciliation of the views with their sources (consistency leader): a pass every interval
  // (0: never), this many keys per batch, deferred while more events a second than this arrive.
  RECONCILE_INTERVAL_MS: nonNegativeInt.default(900_000),
  RECONCILE_BATCH_KEYS: positiveInt.max(10_000).default(500),
  RECONCILE_MAX_EVENTS_PER_SECOND: nonNegativeInt.default(50),
  COMMAND_PARTITIONS: positiveInt.max(1024).default(16),
  COMMAND_TIMEOUT_MS: positiveInt.default(10_000),
  DB_POOL_SIZE: positiveInt.default(10),
  NATS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, "letters, digits, '_' and '-' only")
    .default("clone"),
  DOCUMENT_CHUNK_WORDS: positiveInt.default(200),
  DOCUMENT_CHUNK_OVERLAP_WORDS: nonNegativeInt.default(20),
  OUTBOX_POLL_MS: positiveInt.default(1_000),
  OUTBOX_WAKE_DELAY_MS: nonNegativeInt.default(2),
  // Retention of stored command results and claim-check blobs (see README "Retention"). At least a day: the
  // COMMANDS stream keeps an unapplied command that long, and its blob must outlive it.
  COMMAND_RESULT_RETENTION: duration
    .pipe(z.number().min(86_400_000, "must be at least 1d (the COMMANDS stream keeps a command 24 h)"))
    .default(7 * 86_400_000),
  RETENTION_INTERVAL_MS: positiveInt.default(60_000),
  RETENTION_BATCH_ROWS: positiveInt.max(100_000).default(1_000),
  CORS_ORIGINS: z.string().default("*"),
  EMBEDDED_DATA_DIR: z.string().default("memory://"),
  // OpenTelemetry tracing, by the standard OTEL_* variables (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
  // Off unless OTEL_TRACES_EXPORTER is otlp/console or an OTLP endpoint is set; see tracingConfig().
  OTEL_SDK_DISABLED: booleanFlag.default(false),
  OTEL_TRACES_EXPORTER: z.enum(["otlp", "console", "none", ""]).default(""),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalUrl,
  OTEL_EXPORTER_OTLP_HEADERS: z.string().default(""),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: z.string().default(""),
  OTEL_SERVICE_NAME: z.string().trim().default(""),
  OTEL_BSP_SCHEDULE_DELAY: nonNegativeInt.default(5_000),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
});

/** Typed, validated configuration. */
export interface Config {
  /** Postgres URL; absent means embedded mode (PGlite). */
  readonly databaseUrl: string | undefined;
  /**
   * The database the gateways' queries read the read views from (`READ_DATABASE_URL`): a streaming replica
   * of {@link Config.databaseUrl}; absent means the primary itself.
   */
  readonly readDatabaseUrl: string | undefined;
  /** NATS server URL(s), comma-separated (nodes of one cluster); absent means the in-process transport. */
  readonly natsUrl: string | undefined;
  /** Replicas of the JetStream streams (`NATS_STREAM_REPLICAS`): 1 on one server, 3 on a cluster. */
  readonly natsStreamReplicas: number;
  readonly auth: { readonly jwtSecret: string; readonly jwksUrl: string | undefined };
  readonly grpc: { readonly host: string; readonly port: number };
  readonly httpPort: number;
  readonly metricsPort: number;
  readonly logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  readonly cache: {
    readonly ttlMs: number;
    readonly maxEntries: number;
    readonly maxBytes: number;
    /** Fraction of the TTL after which a hit also refreshes the entry in the background (0: off). */
    readonly refreshAhead: number;
    /** Whether an invalidated entry that was in use is loaded again at once. */
    readonly reloadInvalidated: boolean;
  };
  /** How queries wait for the read side. */
  readonly reads: ReadsConfig;
  /** Command threads per worker process (`WORKER_THREADS`; default {@link defaultWorkerThreads}). */
  readonly workerThreads: number;
  /** Transactions a command thread runs at once (its connections); fewer means larger group commits. */
  readonly workerTransactions: number;
  /** Commands that must be waiting before a thread starts another transaction beside a running one. */
  readonly workerBusyBatch: number;
  /** Refresh threads (piscina) of the consistency role. */
  readonly consistencyThreads: number;
  /** keyed: recompute only the rows events touched; full: recompute whole views (for comparison). */
  readonly consistencyRefreshMode: "keyed" | "full";
  /** Scheduled reconciliation of the views with their sources (src/consistency/reconcile.ts). */
  readonly reconcile: {
    readonly intervalMs: number;
    readonly batchKeys: number;
    readonly maxEventsPerSecond: number;
  };
  readonly commandPartitions: number;
  readonly commandTimeoutMs: number;
  readonly dbPoolSize: number;
  readonly natsPrefix: string;
  readonly chunking: { readonly chunkWords: number; readonly overlapWords: number };
  readonly outboxPollMs: number;
  /**
   * How long after its last round the relay lets wake-ups gather before the next (0: never): a wake-up that
   * finds it idle for longer starts a round at once, one right after a round waits out the rest of this, so
   * back-to-back commits share a round. Wake-ups that come while a round runs share the next round anyway.
   */
  readonly outboxWakeDelayMs: number;
  /** Pruning of `command_results` and `command_blobs` (run by the relay role's retention leader). */
  readonly retention: RetentionConfig;
  readonly corsOrigins: readonly string[];
  readonly embeddedDataDir: string;
  /** OpenTelemetry tracing; undefined when it is off (the default). */
  readonly tracing: TracingConfig | undefined;
}

/** Where and how spans are exported (from the standard `OTEL_*` variables). */
export interface TracingConfig {
  /** otlp: OTLP/HTTP (JSON) to `tracesUrl`; console: to stdout. */
  readonly exporter: "otlp" | "console";
  /** The OTLP/HTTP traces endpoint, e.g. `http://jaeger:4318/v1/traces`. */
  readonly tracesUrl: string;
  /** Headers sent with each export (`OTEL_EXPORTER_OTLP_HEADERS`, `key=value,...`). */
  readonly headers: Readonly<Record<string, string>>;
  /** `service.name`; empty: `clone-<role>`. */
  readonly serviceName: string;
  /** How long finished spans gather before an export, ms (`OTEL_BSP_SCHEDULE_DELAY`). */
  readonly scheduleDelayMs: number;
  /** Fraction of new traces sampled (`OTEL_TRACES_SAMPLER_ARG`; parent-based: a sampled parent is followed). */
  readonly sampleRatio: number;
}

/** How queries wait for the read side (and fall back from it). */
export interface ReadsConfig {
  /** The longest consistency wait of a call without a deadline, ms (then DEADLINE_EXCEEDED). */
  readonly maxWaitMs: number;
  /** How long a token the views have not reached is waited for before the write model answers, ms. */
  readonly fallbackWaitMs: number;
  /** How long the read side may be behind (no heartbeat) before eventual reads use the write model, ms. */
  readonly fallbackStalenessMs: number;
  /** Fallback reads at once per gateway (0: no fallback). */
  readonly fallbackConcurrency: number;
  /** How long a fallback read that finds every slot taken waits for one, ms (0: not at all). */
  readonly fallbackQueueMs: number;
  /** Fallback reads waiting for a slot at most (beyond: no fallback for them). */
  readonly fallbackQueueLength: number;
}

/** Pruning of the command store. */
export interface RetentionConfig {
  /** Age after which a stored command result or blob is deleted, ms (`COMMAND_RESULT_RETENTION`). */
  readonly commandResultMs: number;
  /** How often pruning runs, ms. */
  readonly intervalMs: number;
  /** Rows one pruning transaction deletes at most. */
  readonly batchRows: number;
}

/** Raised when an environment variable is invalid; the message names every bad variable. */
export { ConfigError };

/**
 * Fallback reads at once per gateway when `READ_FALLBACK_CONCURRENCY` is unset: half its Postgres pool
 * (`DB_POOL_SIZE`), at least one. The pool already bounds what one gateway asks of the primary; the fallback
 * bound keeps the write-model reads of a stalled read side (each costlier than a view row) to half of it, so
 * that the rest of the gateway's work (the command path's owner lookups and stored results, token checks,
 * view reads) always finds connections. Reads beyond it wait briefly for a slot (`READ_FALLBACK_QUEUE_MS`,
 * behind at most {@link FALLBACK_QUEUE_PER_SLOT} per slot). The old fixed default of 4 answered only 12-29% of
 * the reads of 16 lanes from the write model in bench:queries' item 5 (the rest from the stale views).
 */
export function fallbackBoundOf(dbPoolSize: number): number {
  return Math.max(1, Math.ceil(dbPoolSize / 2));
}

/**
 * Fallback reads that may wait for a slot, per slot. A fallback read takes a few milliseconds, so the last of
 * four per slot waits about four reads' time, well within READ_FALLBACK_QUEUE_MS: a longer queue would only
 * make reads beyond it wait out the time limit before going to the views.
 */
export const FALLBACK_QUEUE_PER_SLOT = 4;

/**
 * Command threads per worker process when `WORKER_THREADS` is unset: one per two cores, at least one. A
 * thread does its partitions' NATS I/O, deciding and Postgres I/O itself, and the other half of the cores is
 * left to what a command also needs (NATS, Postgres, the gateway), which usually run on the same kind of
 * machine. Measured on 2 cores with everything on one machine: 1 thread gave 17% more commands/s than 2
 * (twice the commands per group commit, a third less worker CPU per command).
 */
export function defaultWorkerThreads(cores: number): number {
  return Math.max(1, Math.floor(cores / 2));
}

/**
 * Parses an environment (by default `process.env`) into a {@link Config}.
 * @throws ConfigError naming each invalid variable and why.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(env)"}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
  }
  const e = parsed.data;
  const fallbackBound = e.READ_FALLBACK_CONCURRENCY ?? fallbackBoundOf(e.DB_POOL_SIZE);
  if (e.DOCUMENT_CHUNK_OVERLAP_WORDS >= e.DOCUMENT_CHUNK_WORDS) {
    throw new ConfigError(
      "invalid configuration: DOCUMENT_CHUNK_OVERLAP_WORDS: must be smaller than DOCUMENT_CHUNK_WORDS",
    );
  }
  return {
    databaseUrl: e.DATABASE_URL,
    readDatabaseUrl: e.READ_DATABASE_URL,
    natsUrl: e.NATS_URL,
    natsStreamReplicas: e.NATS_STREAM_REPLICAS,
    auth: { jwtSecret: e.AUTH_JWT_SECRET, jwksUrl: e.AUTH_JWKS_URL },
    grpc: { host: e.GRPC_HOST, port: e.GRPC_PORT },
    httpPort: e.HTTP_PORT,
    metricsPort: e.METRICS_PORT,
    logLevel: e.LOG_LEVEL,
    cache: {
      ttlMs: e.QUERY_CACHE_TTL_MS,
      maxEntries: e.QUERY_CACHE_MAX_ENTRIES,
      maxBytes: e.QUERY_CACHE_MAX_BYTES,
      refreshAhead: e.QUERY_CACHE_REFRESH_AHEAD,
      reloadInvalidated: e.QUERY_CACHE_RELOAD_INVALIDATED,
    },
    reads: {
      maxWaitMs: e.QUERY_WAIT_MAX_MS,
      fallbackWaitMs: e.READ_FALLBACK_WAIT_MS,
      fallbackStalenessMs: e.READ_FALLBACK_STALENESS_MS,
      fallbackConcurrency: fallbackBound,
      fallbackQueueMs: e.READ_FALLBACK_QUEUE_MS,
      fallbackQueueLength: FALLBACK_QUEUE_PER_SLOT * fallbackBound,
    },
    workerThreads: e.WORKER_THREADS ?? defaultWorkerThreads(availableParallelism()),
    workerTransactions: e.WORKER_TRANSACTIONS,
    workerBusyBatch: e.WORKER_BUSY_BATCH,
    consistencyThreads: e.CONSISTENCY_THREADS,
    consistencyRefreshMode: e.CONSISTENCY_REFRESH_MODE,
    reconcile: {
      intervalMs: e.RECONCILE_INTERVAL_MS,
      batchKeys: e.RECONCILE_BATCH_KEYS,
      maxEventsPerSecond: e.RECONCILE_MAX_EVENTS_PER_SECOND,
    },
    commandPartitions: e.COMMAND_PARTITIONS,
    commandTimeoutMs: e.COMMAND_TIMEOUT_MS,
    dbPoolSize: e.DB_POOL_SIZE,
    natsPrefix: e.NATS_PREFIX,
    chunking: { chunkWords: e.DOCUMENT_CHUNK_WORDS, overlapWords: e.DOCUMENT_CHUNK_OVERLAP_WORDS },
    outboxPollMs: e.OUTBOX_POLL_MS,
    outboxWakeDelayMs: e.OUTBOX_WAKE_DELAY_MS,
    retention: {
      commandResultMs: e.COMMAND_RESULT_RETENTION,
      intervalMs: e.RETENTION_INTERVAL_MS,
      batchRows: e.RETENTION_BATCH_ROWS,
    },
    corsOrigins: e.CORS_ORIGINS.split(",")
      .map((s) => s.trim())
      .filter((s) => s !== ""),
    embeddedDataDir: e.EMBEDDED_DATA_DIR,
    tracing: tracingConfig(e),
  };
}

/**
 * Tracing is on when `OTEL_TRACES_EXPORTER` is `otlp` or `console`, or when it is unset and an OTLP endpoint
 * is given; `none` or `OTEL_SDK_DISABLED=true` turn it off. The traces URL is `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
 * as given, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, else the OTLP default on localhost.
 */
function tracingConfig(e: z.infer<typeof envSchema>): TracingConfig | undefined {
  const endpoint = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_ENDPOINT;
  const exporter = e.OTEL_TRACES_EXPORTER || (endpoint === undefined ? "none" : "otlp");
  if (e.OTEL_SDK_DISABLED || exporter === "none") return undefined;
  const tracesUrl =
    e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (e.OTEL_EXPORTER_OTLP_ENDPOINT === undefined
      ? "http://localhost:4318/v1/traces"
      : `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "")}/v1/traces`);
  return {
    exporter,
    tracesUrl,
    headers: {
      ...otlpHeaders(e.OTEL_EXPORTER_OTLP_HEADERS),
      ...otlpHeaders(e.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
    },
    serviceName: e.OTEL_SERVICE_NAME,
    scheduleDelayMs: e.OTEL_BSP_SCHEDULE_DELAY,
    sampleRatio: e.OTEL_TRACES_SAMPLER_ARG,
  };
}

/** `key=value,key2=value2` (values URL-encoded, as the OTLP exporter spec says). */
function otlpHeaders(raw: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of raw.split(",")) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    headers[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}
