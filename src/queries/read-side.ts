/**
 * The query side of one gateway: the result cache, the consistency tracker (fed by the coordinator's
 * updates) and live turns, wired to the QueryService. Built the same way on the real tier and embedded.
 * The views may be read from a streaming replica (`readDb`, see replica-gate.ts); the write model is always
 * read from the primary.
 */

import type { ReadsConfig } from "../config";
import type { ServiceRegistration } from "../gateway";
import { readStoredProgress } from "../read-models";
import type { OwnerLookup, SqlClient } from "../write-model";
import { createQueryCache, type QueryCache } from "./cache";
import { type ConsistencyTracker, createConsistencyTracker } from "./consistency-tracker";
import type { LiveTurns } from "./live-turns";
import { createPageTokens } from "./pagination";
import { type CachedAnswer, createQueryBus, type FallbackOptions, type QueryBusOptions } from "./query-bus";
import { createQueryService } from "./query-service";
import { type Announcement, createReplicaGate, type ReplicaGate } from "./replica-gate";
import { createSlots, type Slots } from "./slots";
import { traceQueries } from "./traced-query-bus";
import { isWrittenPoint, lastWrittenPoint, shareReads } from "./written-points";

/** Options of {@link createReadSide}. */
export interface ReadSideOptions {
  /** The primary: the write model (strong reads, fallbacks, token checks) and, without `readDb`, the views. */
  readonly db: SqlClient;
  /**
   * A streaming replica of `db` the views are read from (`READ_DATABASE_URL`); the coordinator's updates
   * then pass a {@link ReplicaGate} so that a token or an invalidation counts only once the replica shows it.
   */
  readonly readDb?: SqlClient;
  /** How often the gate reads the replica's progress while it holds updates, ms (default 20). */
  readonly replicaPollMs?: number;
  readonly ownerOf: OwnerLookup;
  readonly live: LiveTurns;
  readonly cache: {
    readonly ttlMs: number;
    readonly maxEntries: number;
    readonly maxBytes: number;
    readonly refreshAhead?: number;
    readonly reloadInvalidated?: boolean;
  };
  /** How queries wait for the read side (default: the config's defaults). */
  readonly reads?: ReadsConfig;
  /** Secret that signs page tokens. */
  readonly pageTokenSecret: string;
  readonly observe?: QueryBusOptions["observe"];
  /** Counts fallback reads (metrics). */
  readonly onFallback?: FallbackOptions["onFallback"];
  /** Cache hit/miss callbacks and a way to export the cache's size (metrics). */
  readonly cacheHooks?: {
    readonly onHit: (key: string, queryType: string | undefined) => void;
    readonly onMiss: (key: string, queryType: string | undefined) => void;
    readonly onRefresh?: (
      key: string,
      queryType: string | undefined,
      reason: "ahead" | "invalidated",
    ) => void;
    readonly track: (stats: () => { entries: number; bytes: number }) => void;
  };
}

/** A gateway's read side. */
export interface ReadSide {
  readonly registration: ServiceRegistration;
  readonly cache: QueryCache<CachedAnswer>;
  readonly tracker: ConsistencyTracker;
  /** Takes an update of the consistency coordinator (through the replica gate when reading a replica). */
  accept(update: Announcement): void;
  /** The replica gate, when the views are read from a replica. */
  readonly replica: ReplicaGate | undefined;
  /** Stops background work (the replica gate's polling). */
  stop(): void;
}

/** The bound on a gateway's fallback reads, with its short queue (READ_FALLBACK_*). */
export function fallbackSlots(reads: ReadsConfig): Slots {
  return createSlots(reads.fallbackConcurrency, {
    length: reads.fallbackQueueLength,
    waitMs: reads.fallbackQueueMs,
  });
}

/** Creates the read side and loads the stored progress once. */
export async function createReadSide(options: ReadSideOptions): Promise<ReadSide> {
  const hooks = options.cacheHooks;
  const cache = createQueryCache<CachedAnswer>({
    ...options.cache,
    ...(hooks ? { onHit: hooks.onHit, onMiss: hooks.onMiss } : {}),
    ...(hooks?.onRefresh ? { onRefresh: hooks.onRefresh } : {}),
  });
  hooks?.track(() => cache.stats());
  const readDb = options.readDb ?? options.db;
  const tracker = createConsistencyTracker({
    readProgress: () => readStoredProgress(readDb),
    invalidate: (inv) => cache.invalidate(inv.queryType, inv.tag),
  });
  await tracker.refresh();
  const replica =
    options.readDb === undefined
      ? undefined
      : createReplicaGate({
          readReplicaProgress: () => readStoredProgress(readDb),
          release: (update) => tracker.apply(update),
          invalidateAll: () => cache.invalidateAll(),
          observe: (progress) => tracker.absorb(progress),
          ...(options.replicaPollMs === undefined ? {} : { pollMs: options.replicaPollMs }),
        });
  const reads = options.reads;
  const bus = traceQueries(
    createQueryBus({
      cache,
      tracker,
      isWritten: (point) => isWrittenPoint(options.db, point),
      lastWritten: shareReads(() => lastWrittenPoint(options.db)),
      ...(reads === undefined
        ? {}
        : {
            maxWaitMs: reads.maxWaitMs,
            fallback: {
              waitMs: reads.fallbackWaitMs,
              stalenessMs: reads.fallbackStalenessMs,
              slots: fallbackSlots(reads),
              ...(options.onFallback ? { onFallback: options.onFallback } : {}),
            },
          }),
      ...(options.observe ? { observe: options.observe } : {}),
    }),
  );
  const registration = createQueryService({
    db: options.db,
    readDb,
    ownerOf: options.ownerOf,
    live: options.live,
    pageTokens: createPageTokens(options.pageTokenSecret),
    bus,
  });
  return {
    registration,
    cache,
    tracker,
    accept: (update) => (replica ? replica.accept(update) : tracker.apply(update)),
    replica,
    stop: () => replica?.stop(),
  };
}
