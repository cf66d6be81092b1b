/**
 * The query result cache of one gateway instance: TTL, LRU bounds on entries and bytes, single-flight loads,
 * and invalidation by tag that a racing load cannot undo.
 *
 * Refresh (both optional): an entry in use is loaded again in the background shortly before its TTL ends
 * (`refreshAhead`) and right after an invalidation dropped it (`reloadInvalidated`), so that popular keys stay
 * cached; what the background load reads goes through the same generation check as any load.
 *
 * Why single-flight: a popular query that misses (after an invalidation, typically) would otherwise send one
 * identical database query per concurrent caller. Why generations (see ./generations.ts): a load that read the
 * views before a write may finish after that write's invalidation; it must neither be stored nor be shared
 * with callers that arrive after the invalidation, or the cache would serve the old answer until the TTL ends.
 */
import { ConfigError } from "../../errors";
import { queryTypeOfKey } from "./cache-key";
import { createGenerations, type Generation } from "./generations";
import { createLruStore, type StoredEntry } from "./lru-store";
import { estimateSize } from "./size-of";
import type { LoadResult, QueryCache, QueryCacheOptions, QueryCacheStats } from "./types";

/** A running load that later misses of the same key may share. */
interface Flight<V> {
  readonly since: Generation;
  readonly tags: readonly string[];
  readonly promise: Promise<LoadResult<V>>;
}

/** How long refresh ahead leaves a key alone after its background load failed, ms. */
const REFRESH_RETRY_MS = 1_000;

/** Invalidation records kept before pruning them against the oldest running load. */
const MIN_PRUNE_AT = 1024;

/**
 * Creates an empty query cache.
 * @throws RangeError when a bound is not a positive integer or the TTL is negative.
 */
export function createQueryCache<V>(options: QueryCacheOptions<V>): QueryCache<V> {
  const { ttlMs, maxEntries, maxBytes, onHit, onMiss, onRefresh } = options;
  if (!(ttlMs >= 0)) throw new ConfigError("ttlMs must be >= 0");
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new ConfigError("maxEntries must be >= 1");
  if (!(maxBytes >= 1)) throw new ConfigError("maxBytes must be >= 1");
  const now = options.now ?? Date.now;
  const sizeOf = options.sizeOf ?? estimateSize;
  const refreshAfterMs =
    options.refreshAhead !== undefined && options.refreshAhead > 0 && options.refreshAhead < 1
      ? ttlMs * options.refreshAhead
      : undefined;

  const store = createLruStore<V>(maxEntries, maxBytes);
  const generations = createGenerations();
  const flights = new Map<string, Flight<V>>();
  /** Load id -> generation at its start, in start order: the first is the oldest running load. */
  const running = new Map<number, Generation>();
  let nextLoadId = 1;
  let pruneAt = MIN_PRUNE_AT;
  let hits = 0;
  let misses = 0;
  let evictions = 0;
  let invalidations = 0;
  let expirations = 0;
  let loads = 0;
  let refreshes = 0;
  /** Keys whose last background refresh failed, and when: refresh ahead waits a while before trying again. */
  const failedRefreshes = new Map<string, number>();

  const expired = (storedAt: number, at: number) => at - storedAt >= ttlMs;

  function lookup(key: string) {
    const entry = store.peek(key);
    if (!entry) return undefined;
    if (expired(entry.storedAt, now())) {
      store.delete(key);
      expirations++;
      return undefined;
    }
    store.touch(key);
    return entry;
  }

  function count(key: string, hit: boolean): void {
    if (hit) hits++;
    else misses++;
    (hit ? onHit : onMiss)?.(key, queryTypeOfKey(key));
  }

  function storeResult(
    key: string,
    tags: readonly string[],
    value: V,
    loadId: number,
    since: Generation,
    reload: () => Promise<V>,
    lastReadAt: number | undefined,
  ) {
    const storedAt = now();
    const queryType = queryTypeOfKey(key);
    if (ttlMs === 0 || generations.staleSince(since, queryType, tags)) return storedAt;
    const current = store.peek(key);
    if (current && current.loadId > loadId) return storedAt;
    const size = sizeOf(value);
    evictions += store.set({
      key,
      queryType,
      tags: [...tags],
      value,
      storedAt,
      size,
      loadId,
      reload,
      ...(lastReadAt === undefined ? {} : { lastReadAt }),
    });
    return storedAt;
  }

  function settle(key: string, loadId: number, flight: Flight<V>): void {
    running.delete(loadId);
    if (running.size === 0) generations.prune(undefined);
    if (flights.get(key) === flight) flights.delete(key);
  }

  function startLoad(
    key: string,
    tags: readonly string[],
    load: () => Promise<V>,
    shared: boolean,
    lastReadAt?: number,
  ) {
    const loadId = nextLoadId++;
    const since = generations.current();
    running.set(loadId, since);
    loads++;
    const promise = (async () => load())().then(
      (value): LoadResult<V> => {
        // Store (or not) before settling: settling may prune the records this load is checked against.
        try {
          const storedAt = storeResult(key, tags, value, loadId, since, load, lastReadAt);
          return { value, fromCache: false, storedAt };
        } finally {
          settle(key, loadId, flight);
        }
      },
      (error: unknown) => {
        settle(key, loadId, flight);
        throw error;
      },
    );
    const flight: Flight<V> = { since, tags, promise };
    if (shared) flights.set(key, flight);
    return promise;
  }

  /** Loads `key` in the background (shared with misses meanwhile); a failure is left to the next lookup. */
  function refresh(
    key: string,
    tags: readonly string[],
    load: () => Promise<V>,
    reason: "ahead" | "invalidated",
    lastReadAt: number,
  ) {
    if (flights.has(key)) return;
    refreshes++;
    onRefresh?.(key, queryTypeOfKey(key), reason);
    startLoad(key, tags, load, true, lastReadAt).then(
      () => failedRefreshes.delete(key),
      () => {
        // The entry (if any) stays until its TTL; hits do not try again before REFRESH_RETRY_MS.
        if (failedRefreshes.size >= maxEntries) failedRefreshes.clear();
        failedRefreshes.set(key, now());
      },
    );
  }

  /** Whether a key last read at `lastReadAt` is still in use (read within the last TTL). */
  const inUse = (lastReadAt: number | undefined, at: number) =>
    lastReadAt !== undefined && at - lastReadAt < ttlMs;

  function afterInvalidation(): void {
    if (generations.size() <= pruneAt) return;
    generations.prune(running.values().next().value);
    pruneAt = Math.max(MIN_PRUNE_AT, 2 * generations.size());
  }

  return {
    get(key) {
      const entry = lookup(key);
      count(key, entry !== undefined);
      return entry && { value: entry.value, storedAt: entry.storedAt };
    },

    async getOrLoad(key, tags, load, loadOptions) {
      if (loadOptions?.bypass) return startLoad(key, tags, load, false);
      const entry = lookup(key);
      count(key, entry !== undefined);
      if (entry) {
        const at = now();
        entry.lastReadAt = at;
        const failedAt = failedRefreshes.get(key);
        if (
          refreshAfterMs !== undefined &&
          at - entry.storedAt >= refreshAfterMs &&
          (failedAt === undefined || at - failedAt >= REFRESH_RETRY_MS)
        ) {
          refresh(key, tags, load, "ahead", at);
        }
        return { value: entry.value, fromCache: true, storedAt: entry.storedAt };
      }
      const flight = flights.get(key);
      if (flight && !generations.staleSince(flight.since, queryTypeOfKey(key), flight.tags)) {
        return flight.promise;
      }
      return startLoad(key, tags, load, true);
    },

    invalidate(queryType, tag) {
      generations.bump(queryType, tag);
      let dropped = 0;
      const at = now();
      const reloads: StoredEntry<V>[] = [];
      for (const key of store.keysTagged(tag)) {
        const entry = store.peek(key);
        const entryType = entry?.queryType;
        if (queryType === undefined || entryType === undefined || entryType === queryType) {
          if (store.delete(key)) dropped++;
          // A load of this key that began before the bump can no longer be shared (generation check).
          if (flights.get(key) !== undefined) flights.delete(key);
          if (options.reloadInvalidated && entry?.reload && inUse(entry.lastReadAt, at)) reloads.push(entry);
        }
      }
      invalidations += dropped;
      afterInvalidation();
      // After the caller's turn: the consistency tracker invalidates, then moves its watermarks, which the
      // reload's answer records as the point it was read at.
      if (reloads.length > 0) {
        queueMicrotask(() => {
          for (const e of reloads) {
            refresh(e.key, e.tags, e.reload as () => Promise<V>, "invalidated", e.lastReadAt as number);
          }
        });
      }
      return dropped;
    },

    invalidateAll() {
      generations.bumpAll();
      flights.clear();
      const dropped = store.clear();
      invalidations += dropped;
      return dropped;
    },

    pruneExpired() {
      const at = now();
      const old = [...store.entries()].filter((e) => expired(e.storedAt, at));
      for (const e of old) store.delete(e.key);
      expirations += old.length;
      return old.length;
    },

    stats(): QueryCacheStats {
      return {
        hits,
        misses,
        entries: store.count,
        bytes: store.bytes,
        evictions,
        invalidations,
        expirations,
        loads,
        refreshes,
      };
    },
  };
}
