/**
 * Query metrics: latency by query type and cache outcome, cache hits and misses, and the cache's size read
 * from its `stats()` at scrape time. The helpers have the signatures of the query bus's `observe` option and
 * the cache's `onHit` / `onMiss` options, so wiring is passing them.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { latencyBuckets } from "./buckets";
import { sourcesOf } from "./collect";

/** What the size gauges read (`QueryCache.stats()` fits). */
export interface CacheSizeStats {
  readonly entries: number;
  readonly bytes: number;
}

/** Query metrics and the helpers that record them. */
export interface QueryMetrics {
  /** `clone_query_duration_seconds{query_type, cache}`: one query on the bus, `cache` = `hit` | `miss`. */
  readonly duration: Histogram<"query_type" | "cache">;
  /** `clone_query_cache_hits_total{query_type}`. */
  readonly cacheHits: Counter<"query_type">;
  /** `clone_query_cache_misses_total{query_type}`. */
  readonly cacheMisses: Counter<"query_type">;
  /** `clone_query_fallbacks_total{query, reason}`: eventual reads answered from the write model. */
  readonly fallbacks: Counter<"query" | "reason">;
  /** `clone_query_cache_entries`: entries held, summed over the tracked caches. */
  readonly cacheEntries: Gauge;
  /** `clone_query_cache_bytes`: estimated bytes held, summed over the tracked caches. */
  readonly cacheBytes: Gauge;
  /** The query bus's `observe` option: `(queryType, fromCache, seconds)`. */
  observe(queryType: string, fromCache: boolean, seconds: number): void;
  /** The cache's `onHit` option. */
  cacheHit(key: string, queryType: string | undefined): void;
  /** The cache's `onMiss` option. */
  cacheMiss(key: string, queryType: string | undefined): void;
  /** The cache's `onRefresh` option: `clone_query_cache_refreshes_total{query_type, reason}`. */
  cacheRefresh(key: string, queryType: string | undefined, reason: "ahead" | "invalidated"): void;
  /** The query bus's `onFallback` option: `(queryType, reason)`. */
  fallback(queryType: string, reason: "token_wait" | "read_side_behind"): void;
  /**
   * Reads `stats` at every scrape for the entries and bytes gauges (registered from the first call on);
   * returns a function that stops it.
   */
  trackCache(stats: () => CacheSizeStats): () => void;
  /**
   * `clone_read_replica_lag_seconds`: reads `lag` (the gateway's replica gate) at every scrape, the largest
   * of the tracked ones (registered from the first call on, so only a gateway reading a replica has it).
   */
  trackReplicaLag(lag: () => number): () => void;
}

/** Creates the query metrics on `registry`. */
export function createQueryMetrics(registry: Registry): QueryMetrics {
  const sum = (pick: (s: CacheSizeStats) => number): number => {
    let total = 0;
    for (const stats of tracked.sources) total += pick(stats());
    return total;
  };
  const duration = new Histogram({
    name: "clone_query_duration_seconds",
    help: "Queries on the query bus (validation to answer, read-your-writes wait included), by cache outcome.",
    labelNames: ["query_type", "cache"],
    buckets: [...latencyBuckets],
    registers: [registry],
  });
  const cacheHits = new Counter({
    name: "clone_query_cache_hits_total",
    help: "Query cache lookups answered from the cache.",
    labelNames: ["query_type"],
    registers: [registry],
  });
  const cacheMisses = new Counter({
    name: "clone_query_cache_misses_total",
    help: "Query cache lookups not answered from the cache (bypassing loads are neither hits nor misses).",
    labelNames: ["query_type"],
    registers: [registry],
  });
  const cacheRefreshes = new Counter({
    name: "clone_query_cache_refreshes_total",
    help: "Background loads of cache entries in use: ahead of their expiry, or after an invalidation dropped them.",
    labelNames: ["query_type", "reason"],
    registers: [registry],
  });
  const fallbacks = new Counter({
    name: "clone_query_fallbacks_total",
    help: "Eventual reads answered from the write model: a consistency token the views had not reached after a short wait (token_wait), or the read side behind (read_side_behind).",
    labelNames: ["query", "reason"],
    registers: [registry],
  });
  const cacheEntries = new Gauge({
    name: "clone_query_cache_entries",
    help: "Entries held by the query cache.",
    registers: [],
    collect() {
      this.set(sum((s) => s.entries));
    },
  });
  const cacheBytes = new Gauge({
    name: "clone_query_cache_bytes",
    help: "Estimated bytes held by the query cache.",
    registers: [],
    collect() {
      this.set(sum((s) => s.bytes));
    },
  });
  const tracked = sourcesOf<() => CacheSizeStats>(registry, [cacheEntries, cacheBytes]);
  const replicaLag = new Gauge({
    name: "clone_read_replica_lag_seconds",
    help: "How far the read replica (READ_DATABASE_URL) is behind the read side on the primary: seconds since the oldest consistency update the replica does not show yet (0: none).",
    registers: [],
    collect() {
      let lag = 0;
      for (const read of lags.sources) lag = Math.max(lag, read());
      this.set(lag);
    },
  });
  const lags = sourcesOf<() => number>(registry, [replicaLag]);
  return {
    duration,
    cacheHits,
    cacheMisses,
    fallbacks,
    cacheEntries,
    cacheBytes,
    fallback(queryType, reason) {
      fallbacks.inc({ query: queryType, reason });
    },
    observe(queryType, fromCache, seconds) {
      duration.observe({ query_type: queryType, cache: fromCache ? "hit" : "miss" }, seconds);
    },
    cacheHit(_key, queryType) {
      cacheHits.inc({ query_type: queryType ?? "unknown" });
    },
    cacheMiss(_key, queryType) {
      cacheMisses.inc({ query_type: queryType ?? "unknown" });
    },
    cacheRefresh(_key, queryType, reason) {
      cacheRefreshes.inc({ query_type: queryType ?? "unknown", reason });
    },
    trackCache(stats) {
      return tracked.add(stats);
    },
    trackReplicaLag(lag) {
      return lags.add(lag);
    },
  };
}
