/**
 * The query bus: every QueryService read goes through it.
 *
 * validate -> authorize -> (read-your-writes wait) -> cache or load -> meta. The cache key is the query type
 * and its parameters; entries carry tags (`user:<id>`, `conversation:<id>`) that the consistency
 * coordinator's invalidations name. Each answer records the point the views had reached when its load began
 * (`consistency_token`) and the time up to which the read side was known complete (`staleness_ms`).
 */
import { comparePoints, decodeToken, encodeToken, type StreamPoint } from "../commands/consistency-token";
import type { Actor } from "../commands/envelope";
import type { QueryType, ViewName } from "../consistency/rules";
import { AppError } from "../errors";
import type { QueryCache } from "./cache";
import { cacheKey } from "./cache";
import type { ConsistencyTracker } from "./consistency-tracker";

/** A cached answer: the response without its meta, and where the read side stood when it was read. */
export interface CachedAnswer {
  readonly payload: Record<string, unknown>;
  readonly point: StreamPoint;
  readonly freshAsOf: number;
}

/** One query type, declared as data plus its loader. */
export interface QueryDefinition<P> {
  readonly queryType: QueryType;
  /** The read views it reads (what a consistency token waits for). */
  readonly views: readonly ViewName[];
  /** Parses the request (INVALID_ARGUMENT listing every violation). */
  parse(request: unknown): P;
  /** Role and ownership rules; may look the owner up. */
  authorize(actor: Actor, params: P): Promise<void>;
  /** Cache tags of an answer. */
  tags(params: P): string[];
  /** Reads the answer from the views. */
  load(params: P): Promise<Record<string, unknown>>;
}

/** The meta of an answer (API `QueryMeta`). */
export interface QueryMetaData {
  readonly fromCache: boolean;
  readonly consistencyToken: string;
  readonly stalenessMs: bigint;
}

/** Options of {@link createQueryBus}. */
export interface QueryBusOptions {
  readonly cache: QueryCache<CachedAnswer>;
  readonly tracker: ConsistencyTracker;
  /** Whether a token's point names an event written (asked only of a token the views have not reached). */
  readonly isWritten: (point: StreamPoint) => Promise<boolean>;
  /** The longest consistency wait of a call without a deadline, ms (then DEADLINE_EXCEEDED); default 10 s. */
  readonly maxWaitMs?: number;
  readonly now?: () => number;
  /** Called after each query (metrics). */
  readonly observe?: (queryType: QueryType, fromCache: boolean, seconds: number) => void;
}

/** Runs queries. */
export interface QueryBus {
  execute<P>(
    definition: QueryDefinition<P>,
    request: { options?: { minConsistencyToken?: string; bypassCache?: boolean } },
    actor: Actor,
    signal: AbortSignal,
    deadline?: number,
  ): Promise<{ payload: Record<string, unknown>; meta: QueryMetaData }>;
}

/** DEADLINE_EXCEEDED for a consistency wait that ran out. */
export function waitExceeded(): AppError {
  return new AppError(
    "DEADLINE_EXCEEDED",
    "the read views did not reach the requested consistency token in time",
  );
}

/** INVALID_ARGUMENT for a token naming no event written. */
function notIssued(): AppError {
  return AppError.invalid([
    {
      field: "options.min_consistency_token",
      description: "is beyond anything written: not a token this server handed out",
    },
  ]);
}

/** Creates the bus over a cache and a consistency tracker. */
export function createQueryBus(options: QueryBusOptions): QueryBus {
  const now = options.now ?? Date.now;
  const maxWaitMs = options.maxWaitMs ?? 10_000;
  return {
    async execute(definition, request, actor, signal, deadline) {
      const started = performance.now();
      const params = definition.parse(request);
      await definition.authorize(actor, params);
      const rawToken = request.options?.minConsistencyToken ?? "";
      let minPoint: StreamPoint | undefined;
      if (rawToken !== "") {
        minPoint = decodeToken(rawToken);
        if (!minPoint) {
          throw AppError.invalid([
            { field: "options.min_consistency_token", description: "is not a consistency token" },
          ]);
        }
        if (!options.tracker.reached(definition.views, minPoint)) {
          if (!(await options.isWritten(minPoint))) throw notIssued();
          // A call without a deadline waits at most maxWaitMs; one with a deadline until it (the signal).
          const limit = deadline === undefined ? maxWaitMs : undefined;
          if (!(await options.tracker.waitFor(definition.views, minPoint, signal, limit)))
            throw waitExceeded();
        }
      }
      const key = cacheKey(definition.queryType, params as Record<string, unknown>);
      const load = async (): Promise<CachedAnswer> => {
        const point = options.tracker.pointOf(definition.views);
        const freshAsOf = options.tracker.freshAsOf();
        return { payload: await definition.load(params), point, freshAsOf };
      };
      // With a consistency token, a cached answer serves only if it was read at or after that point.
      let staleForToken = false;
      if (minPoint !== undefined) {
        const cached = options.cache.get(key);
        staleForToken = cached === undefined || comparePoints(cached.value.point, minPoint) < 0;
      }
      const bypass = request.options?.bypassCache === true || staleForToken;
      const result = await options.cache.getOrLoad(key, definition.tags(params), load, { bypass });
      const answer = result.value;
      options.observe?.(definition.queryType, result.fromCache, (performance.now() - started) / 1000);
      return {
        payload: answer.payload,
        meta: {
          fromCache: result.fromCache,
          consistencyToken: encodeToken(answer.point),
          stalenessMs: BigInt(Math.max(0, Math.round(now() - Math.min(answer.freshAsOf, result.storedAt)))),
        },
      };
    },
  };
}
