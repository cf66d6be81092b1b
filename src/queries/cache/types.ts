/** The public shapes of the query cache. */

/** Options of `createQueryCache`. */
export interface QueryCacheOptions<V> {
  /** How long an entry is served after it was stored, in ms; 0 disables storing (loads are still shared). */
  readonly ttlMs: number;
  /** Most entries kept; the least recently used are evicted beyond it. */
  readonly maxEntries: number;
  /** Most bytes kept, as measured by `sizeOf`; the least recently used are evicted beyond it. */
  readonly maxBytes: number;
  /** The clock, in ms. Default `Date.now`. */
  readonly now?: () => number;
  /** Estimated size of a value, in bytes. Default: about the length of its JSON text (`estimateSize`). */
  readonly sizeOf?: (value: V) => number;
  /** Called on every cache hit of `get`/`getOrLoad` (not for bypassing loads). Must not throw. */
  readonly onHit?: (key: string, queryType: string | undefined) => void;
  /** Called on every cache miss of `get`/`getOrLoad` (not for bypassing loads). Must not throw. */
  readonly onMiss?: (key: string, queryType: string | undefined) => void;
  /**
   * Refresh ahead: a hit on an entry older than this fraction of the TTL also starts a load of it in the
   * background (the hit is answered at once with the entry, which is still valid), so an entry in use is
   * replaced before it expires instead of making a later caller wait. 0 or undefined: off.
   */
  readonly refreshAhead?: number;
  /**
   * Reload after an invalidation: an invalidated entry whose key answered a lookup within the last TTL (the
   * time of the last hit carries over to the entries refreshes and reloads store) is loaded again in the
   * background right after (a lookup before that load finished misses and shares it), so the next callers
   * of a key in use find the new answer cached. Keys nobody read for a TTL are not reloaded.
   */
  readonly reloadInvalidated?: boolean;
  /** Called for each background load started by refresh ahead or reload after an invalidation. */
  readonly onRefresh?: (key: string, queryType: string | undefined, reason: "ahead" | "invalidated") => void;
}

/** A cached value and when it was stored. */
export interface CacheHit<V> {
  readonly value: V;
  /** Clock reading when the value was stored, in ms. */
  readonly storedAt: number;
}

/** The answer of `getOrLoad`. */
export interface LoadResult<V> {
  readonly value: V;
  /** True when served from the cache; false when loaded by this call or a load it shared. */
  readonly fromCache: boolean;
  /** Clock reading when the value was stored (or, for a fresh load, when it finished), in ms. */
  readonly storedAt: number;
}

/** Options of one `getOrLoad` call. */
export interface LoadOptions {
  /** Load even if cached and do not share another call's load (critical reads); the result may be stored. */
  readonly bypass?: boolean;
}

/** Counters and gauges of a cache, for metrics. */
export interface QueryCacheStats {
  /** Lookups answered from the cache. */
  readonly hits: number;
  /** Lookups not answered from the cache (bypassing loads are neither hits nor misses). */
  readonly misses: number;
  /** Entries held now. */
  readonly entries: number;
  /** Estimated bytes held now. */
  readonly bytes: number;
  /** Entries dropped to stay within the bounds. */
  readonly evictions: number;
  /** Entries dropped by `invalidate`/`invalidateAll`. */
  readonly invalidations: number;
  /** Entries dropped because their TTL had passed. */
  readonly expirations: number;
  /** Calls of a `load` function (shared loads count once), background refreshes included. */
  readonly loads: number;
  /** Background loads started by refresh ahead or by reloading an invalidated entry in use. */
  readonly refreshes: number;
}

/** The query result cache of one gateway instance. */
export interface QueryCache<V> {
  /** The value cached under `key`, if any and not expired (an expired entry is dropped). */
  get(key: string): CacheHit<V> | undefined;
  /**
   * The value cached under `key`, or else the result of `load`, stored under `key` with `tags`. Concurrent
   * misses of one key share one call of `load` (a rejection is shared too, and nothing is stored), and the
   * tags of the call that started it. A result is not stored if an invalidation touching its query type and
   * tags happened while it was loading. A load that never settles keeps invalidation records alive: give
   * loads a deadline.
   */
  getOrLoad(
    key: string,
    tags: readonly string[],
    load: () => Promise<V>,
    options?: LoadOptions,
  ): Promise<LoadResult<V>>;
  /**
   * Drops the entries tagged `tag` of `queryType` (of every query type when undefined), and makes sure no
   * load already running stores its result or is shared with later calls: once this returns, no call begun
   * afterwards is answered with a value whose load began before. Returns the number of entries dropped.
   */
  invalidate(queryType: string | undefined, tag: string): number;
  /** Drops every entry, with the same guarantee as `invalidate`. Returns the number of entries dropped. */
  invalidateAll(): number;
  /** Drops the expired entries now (they are otherwise dropped when looked up or evicted). Returns how many. */
  pruneExpired(): number;
  /** Counters and gauges, for metrics. */
  stats(): QueryCacheStats;
}
