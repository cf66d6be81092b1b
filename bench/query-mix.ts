/**
 * The read-heavy mix of item 4 of queries.bench.ts: closed-loop lanes, each operation on a user drawn from a
 * zipf distribution (zipf.ts): mostly reads, spread evenly over GetUserProfile, GetUserStatistics and
 * ListConversations (cache on, as clients read by default), and a share of writes, UpdateUserProfile and
 * RecordConversationTurn (on the user's conversation) half each, which invalidate the user's cached answers.
 *
 * Hit rate = reads answered with `meta.from_cache = true` / all reads. Each miss is also classified from what
 * this client did before it: `first` (this query of this user was never read before in the run), `written`
 * (a command that invalidates this query type was sent for the user after the key's last miss began, so its
 * invalidation may have dropped what that miss loaded; reads in between may still have hit the old entry),
 * `shared` (another lane's miss of the key finished after this read began: they raced for one load),
 * `expired` (the key's last miss, whose load stored the entry, ended a TTL ago or more) or `other` (the entry
 * was evicted).
 */
import type { EventType } from "../src/domain";
import type { GrpcClient } from "../src/gateway";
import type { CommandService } from "../src/gen/clone/v1/command_service_pb";
import { Speaker } from "../src/gen/clone/v1/enums_pb";
import type { QueryService } from "../src/gen/clone/v1/query_service_pb";
import { ruleFor } from "../src/read-models";
import type { Operation } from "./load";
import type { SeededUser } from "./query-seed";
import { asUser, type TokenBook } from "./query-workloads";
import type { ZipfSampler } from "./zipf";

/** The query types the mix reads. */
export const mixReads = ["GetUserProfile", "GetUserStatistics", "ListConversations"] as const;
/** A query type of the mix. */
export type MixRead = (typeof mixReads)[number];

/** Counts of one query type (or of all). */
export interface ReadCounts {
  reads: number;
  hits: number;
  first: number;
  written: number;
  shared: number;
  expired: number;
  other: number;
}

/** What the mix counted since the last {@link MixWorkload.reset}. */
export interface MixCounts {
  readonly byType: ReadonlyMap<MixRead, ReadCounts>;
  readonly writes: number;
  /** Writes that invalidated each query type. */
  readonly invalidations: ReadonlyMap<MixRead, number>;
  /** Latency of each read, ms. */
  readonly readLatenciesMs: Float64Array;
  /** Distinct (query type, user) keys read. */
  readonly distinctKeys: number;
}

/** The mix as an operation, and its counters. */
export interface MixWorkload {
  readonly op: Operation;
  /**
   * Reads the three queries of the `users` most popular users once each (on `lanes` lanes), so that the cache
   * starts with the entries a long-running gateway would hold; counted like any read until {@link reset}.
   */
  prime(users: number, lanes: number): Promise<void>;
  counts(): MixCounts;
  /** Zeroes the counters (what the client knows of past reads and writes is kept). */
  reset(): void;
}

/** Which of the mix's cached queries each write makes stale: its event's consistency rule. */
const invalidates: Record<"updateUserProfile" | "recordConversationTurn", readonly MixRead[]> = {
  updateUserProfile: staleReads("user.profile_updated"),
  recordConversationTurn: staleReads("conversation.turn_recorded"),
};

function staleReads(eventType: EventType): MixRead[] {
  const affected: readonly string[] = ruleFor(eventType)?.affectedQueryTypes ?? [];
  return mixReads.filter((t) => affected.includes(t));
}

const emptyCounts = (): ReadCounts => ({
  reads: 0,
  hits: 0,
  first: 0,
  written: 0,
  shared: 0,
  expired: 0,
  other: 0,
});
const noInvalidations = () => new Map<MixRead, number>(mixReads.map((t) => [t, 0]));

/** Creates the mix over seeded users (their tokens minted). */
export function createMixWorkload(options: {
  readonly query: GrpcClient<typeof QueryService>;
  readonly command: GrpcClient<typeof CommandService>;
  readonly users: readonly SeededUser[];
  readonly tokens: TokenBook;
  readonly zipf: ZipfSampler;
  readonly random: () => number;
  readonly writeShare: number;
  /** The gateway's QUERY_CACHE_TTL_MS, to tell expiries from other misses. */
  readonly ttlMs: number;
}): MixWorkload {
  const { query, command, users, tokens, zipf, random, ttlMs } = options;
  let byType = new Map<MixRead, ReadCounts>(mixReads.map((t) => [t, emptyCounts()]));
  let writes = 0;
  let invalidations = noInvalidations();
  let readLatencies: number[] = [];
  /** Keys read before in the run. */
  const seen = new Set<string>();
  /** When a command invalidating a key was last sent. */
  const writtenAt = new Map<string, number>();
  /** When the last miss of a key began and ended (its load stored the entry then). */
  const lastMiss = new Map<string, { readonly began: number; readonly ended: number }>();
  let distinct = new Set<string>();

  async function read(type: MixRead, userId: string): Promise<void> {
    const call = asUser(tokens, userId);
    const t0 = performance.now();
    let fromCache: boolean | undefined;
    if (type === "GetUserProfile")
      fromCache = (await query.call("getUserProfile", { userId }, call)).meta?.fromCache;
    else if (type === "GetUserStatistics")
      fromCache = (await query.call("getUserStatistics", { userId }, call)).meta?.fromCache;
    else fromCache = (await query.call("listConversations", { userId, pageSize: 20 }, call)).meta?.fromCache;
    const t1 = performance.now();
    readLatencies.push(t1 - t0);
    const key = `${type}|${userId}`;
    const c = byType.get(type) as ReadCounts;
    c.reads++;
    if (fromCache === true) c.hits++;
    else {
      const last = lastMiss.get(key);
      const written = writtenAt.get(key);
      if (!seen.has(key)) c.first++;
      else if (written !== undefined && (last === undefined || written > last.began)) c.written++;
      else if (last !== undefined && last.ended > t0) c.shared++;
      else if (last !== undefined && t0 - last.ended >= ttlMs) c.expired++;
      else c.other++;
      lastMiss.set(key, { began: t0, ended: t1 });
    }
    seen.add(key);
    distinct.add(key);
  }

  async function write(user: SeededUser, seq: number): Promise<void> {
    const kind = random() < 0.5 ? "updateUserProfile" : "recordConversationTurn";
    for (const type of invalidates[kind]) {
      writtenAt.set(`${type}|${user.userId}`, performance.now());
      invalidations.set(type, (invalidations.get(type) ?? 0) + 1);
    }
    const call = asUser(tokens, user.userId);
    if (kind === "updateUserProfile") {
      await command.call("updateUserProfile", { userId: user.userId, displayName: `Zipf ${seq}` }, call);
    } else {
      await command.call(
        "recordConversationTurn",
        {
          conversationId: user.conversationId,
          speaker: seq % 2 === 0 ? Speaker.USER : Speaker.CLONE,
          text: `zipf turn ${seq}`,
          audioMs: 2_400,
          latencyMs: 180,
        },
        call,
      );
    }
    writes++;
  }

  return {
    async prime(count, lanes) {
      let next = 0;
      const lane = async () => {
        for (let k = next++; k < count; k = next++) {
          const user = users[zipf.itemOfRank(k + 1)] as SeededUser;
          for (const type of mixReads) await read(type, user.userId);
        }
      };
      await Promise.all(Array.from({ length: lanes }, lane));
    },
    op: (_lane, seq) => {
      const user = users[zipf.next()] as SeededUser;
      if (random() < options.writeShare) return write(user, seq);
      return read(mixReads[Math.floor(random() * mixReads.length)] as MixRead, user.userId);
    },
    counts: () => ({
      byType,
      writes,
      invalidations,
      readLatenciesMs: Float64Array.from(readLatencies),
      distinctKeys: distinct.size,
    }),
    reset() {
      byType = new Map(mixReads.map((t) => [t, emptyCounts()]));
      writes = 0;
      invalidations = noInvalidations();
      readLatencies = [];
      distinct = new Set();
    },
  };
}

/** The counts of all query types together. */
export function sumCounts(byType: ReadonlyMap<MixRead, ReadCounts>): ReadCounts {
  const sum = emptyCounts();
  for (const c of byType.values()) {
    sum.reads += c.reads;
    sum.hits += c.hits;
    sum.first += c.first;
    sum.written += c.written;
    sum.shared += c.shared;
    sum.expired += c.expired;
    sum.other += c.other;
  }
  return sum;
}
