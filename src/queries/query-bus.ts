/**
 * The query bus: every QueryService read goes through it.
 *
 * validate -> authorize -> (read-your-writes wait) -> cache or load -> meta. The cache key is the query type
 * and its parameters; entries carry tags (`user:<id>`, `conversation:<id>`) that the consistency
 * coordinator's invalidations name. Each answer records the point the views had reached when its load began
 * (`consistency_token`) and the time up to which the read side was known complete (`staleness_ms`).
 *
 * Some answers come from the write model instead (the views' definitions evaluated for the requested keys,
 * see read-source.ts), never cached, with `staleness_ms` 0: a STRONG read; and, with a fallback configured,
 * an EVENTUAL read whose token the views have not reached after `waitMs`, or any EVENTUAL read while the
 * read side has been behind (no heartbeat) for over `stalenessMs`. Fallbacks take a slot of a small
 * semaphore, so a stalled read side cannot flood the primary; one that finds every slot taken waits briefly
 * in its short queue (slots.ts), and without a slot after that a token wait goes on for the views (then
 * DEADLINE_EXCEEDED), and a read without a token is answered from the views as it is. When the read side is
 * healthy the fallback costs nothing: a clock comparison, no query.
 */
import type { Actor } from "../contracts";
import { comparePoints, decodeToken, encodeToken, ORIGIN, type StreamPoint } from "../contracts";
import { AppError } from "../errors";
import { AnswerSource, ReadConsistency } from "../gen/clone/v1/enums_pb";
import { cacheTagsOf, type QueryType, viewsReadBy } from "../read-models";
import type { QueryCache } from "./cache";
import { cacheKey } from "./cache";
import type { ConsistencyTracker } from "./consistency-tracker";
import { type ReadSource, VIEWS, WRITE_MODEL } from "./read-source";
import type { Slots } from "./slots";

/** A cached answer: the response without its meta, and where the read side stood when it was read. */
export interface CachedAnswer {
  readonly payload: Record<string, unknown>;
  readonly point: StreamPoint;
  readonly freshAsOf: number;
}

/** One query type, declared as data plus its loader. */
export interface QueryDefinition<P> {
  /**
   * Its RPC. The views it reads (what a consistency token waits for) are those whose definitions name it, and
   * its answers' cache tags are those of its scope there (src/read-models/views/).
   */
  readonly queryType: QueryType | WriteModelQueryType;
  /** Parses the request (INVALID_ARGUMENT listing every violation). */
  parse(request: unknown): P;
  /** Role and ownership rules; may look the owner up. */
  authorize(actor: Actor, params: P): Promise<void>;
  /**
   * The owner's cache tags of an answer whose scope has an owner (see `CacheScope.owner`): the parameters
   * name the conversation, not its user, so the owner is looked up (as `authorize` did).
   */
  ownerTags?(params: P): Promise<string[]>;
  /** Reads the answer from the views, or from their definitions over the write model. */
  load(params: P, source: ReadSource): Promise<Record<string, unknown>>;
  /** Read from the write model only (never cached, nothing to wait for): the audit trail. */
  readonly writeModelOnly?: boolean;
}

/** Queries answered from the write model only. */
export type WriteModelQueryType = "GetAggregateHistory";

/** Why an EVENTUAL read was answered from the write model (`clone_query_fallbacks_total{reason}`). */
export type FallbackReason = "token_wait" | "read_side_behind";

/** When EVENTUAL reads fall back to the write model. */
export interface FallbackOptions {
  /** How long a token the views have not reached is waited for before the write model answers, ms. */
  readonly waitMs: number;
  /** How long without a heartbeat of the read side before every read is answered from the write model, ms. */
  readonly stalenessMs: number;
  /** The bound on concurrent fallback reads. */
  readonly slots: Slots;
  /** Called for each fallback read (metrics). */
  readonly onFallback?: (queryType: string, reason: FallbackReason) => void;
}

/** The meta of an answer (API `QueryMeta`). */
export interface QueryMetaData {
  readonly fromCache: boolean;
  readonly consistencyToken: string;
  readonly stalenessMs: bigint;
  readonly source: AnswerSource;
}

/** The query options the bus reads (API `QueryOptions`). */
export interface QueryOptionsData {
  readonly minConsistencyToken?: string;
  readonly bypassCache?: boolean;
  readonly consistency?: ReadConsistency;
}

/** Options of {@link createQueryBus}. */
export interface QueryBusOptions {
  readonly cache: QueryCache<CachedAnswer>;
  readonly tracker: ConsistencyTracker;
  /** Whether a token's point names an event written (asked only of a token the views have not reached). */
  readonly isWritten: (point: StreamPoint) => Promise<boolean>;
  /** The longest consistency wait of a call without a deadline, ms (then DEADLINE_EXCEEDED); default 10 s. */
  readonly maxWaitMs?: number;
  /** The point of the last event written: what a write-model answer reflects. */
  readonly lastWritten: () => Promise<StreamPoint>;
  /** Fallback of EVENTUAL reads to the write model; absent: none. */
  readonly fallback?: FallbackOptions;
  readonly now?: () => number;
  /** Called after each query (metrics). */
  readonly observe?: (queryType: string, fromCache: boolean, seconds: number) => void;
}

/** Runs queries. */
export interface QueryBus {
  execute<P>(
    definition: QueryDefinition<P>,
    request: { options?: QueryOptionsData | undefined },
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

/** How long a token is waited for before it is checked against what was written, ms. */
const VALIDATE_AFTER_MS = 50;

const later = (a: StreamPoint, b: StreamPoint) => (comparePoints(a, b) >= 0 ? a : b);

/** Creates the bus over a cache and a consistency tracker. */
export function createQueryBus(options: QueryBusOptions): QueryBus {
  const now = options.now ?? Date.now;
  const maxWaitMs = options.maxWaitMs ?? 10_000;
  const fallback = options.fallback;

  // The answers of a moment mostly carry the same point (where the views stand): its text is kept, not
  // encoded again for every answer.
  let lastPoint = ORIGIN;
  let lastToken = encodeToken(ORIGIN);
  function tokenText(point: StreamPoint): string {
    if (comparePoints(point, lastPoint) !== 0) {
      lastPoint = point;
      lastToken = encodeToken(point);
    }
    return lastToken;
  }

  /** A token's point, or undefined when none was given; INVALID_ARGUMENT when it is not a token. */
  function tokenOf(raw: string | undefined): StreamPoint | undefined {
    if (raw === undefined || raw === "") return undefined;
    const point = decodeToken(raw);
    if (!point) {
      throw AppError.invalid([
        { field: "options.min_consistency_token", description: "is not a consistency token" },
      ]);
    }
    return point;
  }

  /**
   * An answer read from the write model now: it reflects every event written before it began, at least up to
   * `written` (the last point written, read before the load).
   */
  async function fromWriteModel<P>(
    definition: QueryDefinition<P>,
    params: P,
    minPoint: StreamPoint | undefined,
    written: StreamPoint,
  ) {
    const payload = await definition.load(params, WRITE_MODEL);
    const point = later(
      later(written, minPoint ?? ORIGIN),
      options.tracker.pointOf(viewsReadBy(definition.queryType)),
    );
    const meta: QueryMetaData = {
      fromCache: false,
      consistencyToken: tokenText(point),
      stalenessMs: 0n,
      source: AnswerSource.WRITE_MODEL,
    };
    return { payload, meta };
  }

  /** A fallback read if a slot is free or frees up within the slots' short queue, else undefined. */
  async function tryFallback<P>(
    definition: QueryDefinition<P>,
    params: P,
    minPoint: StreamPoint | undefined,
    reason: FallbackReason,
    signal: AbortSignal,
  ) {
    if (!fallback || fallback.slots.size === 0) return undefined;
    // The last point written is read before a slot is taken (one shared read for the fallback reads of the
    // moment, see shareReads), so that a slot is held for the load alone: the bound is on the views'
    // definitions evaluated on the primary, and a slot frees up twice as fast.
    const written = await options.lastWritten();
    const release = await fallback.slots.acquire(signal);
    if (!release) return undefined;
    try {
      const answer = await fromWriteModel(definition, params, minPoint, written);
      fallback.onFallback?.(definition.queryType, reason);
      return answer;
    } finally {
      release();
    }
  }

  /**
   * Waits until the views reach `minPoint`, or answers from the write model once a fallback is due; past the
   * limit (the deadline, or maxWaitMs without one) DEADLINE_EXCEEDED.
   */
  async function awaitToken<P>(
    definition: QueryDefinition<P>,
    params: P,
    minPoint: StreamPoint,
    signal: AbortSignal,
    deadline: number | undefined,
  ) {
    // A call without a deadline waits at most maxWaitMs; one with a deadline until it (the signal).
    const started = now();
    const limitAt = deadline === undefined ? started + maxWaitMs : undefined;
    const remaining = () => (limitAt === undefined ? undefined : Math.max(0, limitAt - now()));
    // Most read-your-writes tokens are reached within milliseconds: only a token still not reached after a
    // short grace costs the lookup that tells a forged one (INVALID_ARGUMENT).
    const grace = Math.min(VALIDATE_AFTER_MS, remaining() ?? VALIDATE_AFTER_MS);
    if (await options.tracker.waitFor(viewsReadBy(definition.queryType), minPoint, signal, grace))
      return undefined;
    if (!(await options.isWritten(minPoint))) throw notIssued();
    if (fallback) {
      const rest = Math.max(0, fallback.waitMs - (now() - started));
      if (
        await options.tracker.waitFor(
          viewsReadBy(definition.queryType),
          minPoint,
          signal,
          Math.min(rest, remaining() ?? rest),
        )
      )
        return undefined;
      const answer = await tryFallback(definition, params, minPoint, "token_wait", signal);
      if (answer) return answer;
      // Beyond the fallback bound: wait on for the views.
    }
    if (!(await options.tracker.waitFor(viewsReadBy(definition.queryType), minPoint, signal, remaining())))
      throw waitExceeded();
    return undefined;
  }

  return {
    async execute(definition, request, actor, signal, deadline) {
      const started = performance.now();
      const params = definition.parse(request);
      await definition.authorize(actor, params);
      const minPoint = tokenOf(request.options?.minConsistencyToken);
      const consistency = request.options?.consistency ?? ReadConsistency.UNSPECIFIED;
      if (!(consistency in ReadConsistency)) {
        throw AppError.invalid([{ field: "options.consistency", description: "is not a ReadConsistency" }]);
      }
      const reached =
        minPoint === undefined || options.tracker.reached(viewsReadBy(definition.queryType), minPoint);
      let answered: { payload: Record<string, unknown>; meta: QueryMetaData } | undefined;
      if (definition.writeModelOnly || consistency === ReadConsistency.STRONG) {
        if (!reached && !(await options.isWritten(minPoint))) throw notIssued();
        answered = await fromWriteModel(definition, params, minPoint, await options.lastWritten());
      } else if (!reached) {
        answered = await awaitToken(definition, params, minPoint, signal, deadline);
      } else if (fallback && now() - options.tracker.caughtUpAt() > fallback.stalenessMs) {
        answered = await tryFallback(definition, params, minPoint, "read_side_behind", signal);
      }
      if (answered) {
        options.observe?.(definition.queryType, false, (performance.now() - started) / 1000);
        return answered;
      }
      const key = cacheKey(definition.queryType, params as Record<string, unknown>);
      const load = async (): Promise<CachedAnswer> => {
        const point = options.tracker.pointOf(viewsReadBy(definition.queryType));
        const freshAsOf = options.tracker.freshAsOf();
        return { payload: await definition.load(params, VIEWS), point, freshAsOf };
      };
      // With a consistency token, a cached answer serves only if it was read at or after that point.
      let staleForToken = false;
      if (minPoint !== undefined) {
        const cached = options.cache.get(key);
        staleForToken = cached === undefined || comparePoints(cached.value.point, minPoint) < 0;
      }
      const bypass = request.options?.bypassCache === true || staleForToken;
      const result = await options.cache.getOrLoad(
        key,
        [
          ...cacheTagsOf(definition.queryType, params as Record<string, unknown>),
          ...((await definition.ownerTags?.(params)) ?? []),
        ],
        load,
        { bypass },
      );
      const answer = result.value;
      options.observe?.(definition.queryType, result.fromCache, (performance.now() - started) / 1000);
      return {
        payload: answer.payload,
        meta: {
          fromCache: result.fromCache,
          consistencyToken: tokenText(answer.point),
          stalenessMs: BigInt(Math.max(0, Math.round(now() - Math.min(answer.freshAsOf, result.storedAt)))),
          source: result.fromCache ? AnswerSource.CACHE : AnswerSource.VIEW,
        },
      };
    },
  };
}
