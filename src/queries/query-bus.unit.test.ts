import { describe, expect, test } from "bun:test";
import { loadConfig } from "../config";
import { decodeToken, encodeToken, type StreamPoint } from "../contracts";
import { AnswerSource, ReadConsistency } from "../gen/clone/v1/enums_pb";
import { createQueryCache } from "./cache";
import { createConsistencyTracker } from "./consistency-tracker";
import { type CachedAnswer, createQueryBus, type QueryDefinition } from "./query-bus";
import { fallbackSlots } from "./read-side";
import { createSlots, type Slots } from "./slots";

const actor = { sub: "u1", role: "user" } as const;
const point = (p: number): StreamPoint => ({ transactionId: BigInt(p), position: BigInt(p) });

function setup(fallback?: { waitMs: number; stalenessMs: number; slots: number | Slots }) {
  const fallbacks: string[] = [];
  let now = 1_000_000;
  let progressReads = 0;
  let writtenChecks = 0;
  let lastWrittenReads = 0;
  /** The last position written: a token beyond it was never handed out. */
  const written = 1_000;
  const cache = createQueryCache<CachedAnswer>({
    ttlMs: 60_000,
    maxEntries: 100,
    maxBytes: 1 << 20,
    now: () => now,
  });
  const tracker = createConsistencyTracker({
    readProgress: async () => {
      progressReads++;
      return { complete: point(0), views: {} };
    },
    invalidate: (i) => cache.invalidate(i.queryType, i.tag),
    now: () => now,
    pollMs: 5,
  });
  let value = "v1";
  let loads = 0;
  /** While set, write-model loads wait for it: how many run at once. */
  let gate: Promise<void> | undefined;
  let writeModelLoads = 0;
  let mostWriteModelLoads = 0;
  const definition: QueryDefinition<{ userId: string }> = {
    queryType: "GetUserProfile",
    parse: (r) => ({ userId: (r as { userId: string }).userId }),
    authorize: async () => {},
    load: async (_p, source) => {
      loads++;
      if (!source.writeModel) return { value };
      writeModelLoads++;
      mostWriteModelLoads = Math.max(mostWriteModelLoads, writeModelLoads);
      try {
        await gate;
      } finally {
        writeModelLoads--;
      }
      return { value: `${value} (write model)` };
    },
  };
  const bus = createQueryBus({
    cache,
    tracker,
    now: () => now,
    isWritten: async (p) => {
      writtenChecks++;
      return p.position <= BigInt(written);
    },
    lastWritten: async () => {
      lastWrittenReads++;
      return point(written);
    },
    maxWaitMs: 100,
    ...(fallback
      ? {
          fallback: {
            waitMs: fallback.waitMs,
            stalenessMs: fallback.stalenessMs,
            slots: typeof fallback.slots === "number" ? createSlots(fallback.slots) : fallback.slots,
            onFallback: (q: string, reason: string) => fallbacks.push(`${q}:${reason}`),
          },
        }
      : {}),
  });
  const run = (
    options: { minConsistencyToken?: string; bypassCache?: boolean; consistency?: ReadConsistency } = {},
    signal = new AbortController().signal,
    deadline: number | null = Date.now() + 60_000,
  ) => bus.execute(definition, { options, userId: "u1" } as never, actor, signal, deadline ?? undefined);
  return {
    run,
    tracker,
    setValue: (v: string) => {
      value = v;
    },
    loads: () => loads,
    /** Holds write-model loads until the returned function is called. */
    hold: () => {
      let open = () => {};
      gate = new Promise((resolve) => {
        open = resolve;
      });
      return open;
    },
    writeModelLoads: () => writeModelLoads,
    mostWriteModelLoads: () => mostWriteModelLoads,
    progressReads: () => progressReads,
    writtenChecks: () => writtenChecks,
    /** Queries the bus made besides the definition's load: the forged-token lookup, the last point written. */
    extraQueries: () => writtenChecks + lastWrittenReads,
    fallbacks,
    tick: (ms: number) => {
      now += ms;
    },
  };
}

describe("query bus", () => {
  test("a miss loads, a repeat is a hit with the same token; staleness grows with age", async () => {
    const s = setup();
    s.tracker.apply({
      views: { user_profile_view: point(5) },
      complete: point(5),
      completeSeq: 5,
      invalidations: [],
      caughtUpAt: 1_000_000,
    });
    const a = await s.run();
    s.tick(250);
    const b = await s.run();
    expect(a.meta.fromCache).toBe(false);
    expect(b.meta.fromCache).toBe(true);
    expect(s.loads()).toBe(1);
    expect(decodeToken(a.meta.consistencyToken)).toEqual(point(5));
    expect(b.meta.consistencyToken).toBe(a.meta.consistencyToken);
    expect(b.meta.stalenessMs).toBe(250n);
  });

  test("an invalidation from the coordinator makes the next read load again", async () => {
    const s = setup();
    await s.run();
    s.setValue("v2");
    s.tracker.apply({
      views: { user_profile_view: point(6) },
      complete: point(6),
      completeSeq: 6,
      invalidations: [{ queryType: "GetUserProfile", tag: "user:u1" }],
    });
    const r = await s.run();
    expect(r.payload).toEqual({ value: "v2" });
    expect(r.meta.fromCache).toBe(false);
  });

  test("a consistency token waits for the views, then skips a cached answer read before it", async () => {
    const s = setup();
    await s.run(); // cached at point 0
    s.setValue("v3");
    const pending = s.run({ minConsistencyToken: encodeToken(point(9)) });
    await Bun.sleep(20);
    expect(s.loads()).toBe(1);
    s.tracker.apply({
      views: { user_profile_view: point(9) },
      complete: point(9),
      completeSeq: 9,
      invalidations: [],
    });
    const r = await pending;
    expect(r.payload).toEqual({ value: "v3" });
    expect(r.meta.fromCache).toBe(false);
    expect(decodeToken(r.meta.consistencyToken)).toEqual(point(9));
    // Reached within the grace: no lookup of what was written.
    expect(s.writtenChecks()).toBe(0);
  });

  test("a token not reached before the deadline is DEADLINE_EXCEEDED; a malformed one INVALID_ARGUMENT", async () => {
    const s = setup();
    await expect(
      s.run({ minConsistencyToken: encodeToken(point(100)) }, AbortSignal.timeout(30)),
    ).rejects.toMatchObject({
      code: "DEADLINE_EXCEEDED",
    });
    await expect(s.run({ minConsistencyToken: "nope" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(s.run({ consistency: 7 as ReadConsistency })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });

  test("a token beyond anything written is INVALID_ARGUMENT after a short grace", async () => {
    const s = setup();
    const started = performance.now();
    await expect(s.run({ minConsistencyToken: encodeToken(point(5_000)) })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    expect(performance.now() - started).toBeLessThan(200);
    expect(s.writtenChecks()).toBe(1);
  });

  test("a wait without a deadline is capped (maxWaitMs), then DEADLINE_EXCEEDED", async () => {
    const s = setup();
    const started = performance.now();
    await expect(
      s.run({ minConsistencyToken: encodeToken(point(100)) }, new AbortController().signal, null),
    ).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
  });

  test("waiters share one notification path: one update wakes them all, one poll serves them all", async () => {
    const s = setup();
    const pending = Array.from({ length: 50 }, () => s.run({ minConsistencyToken: encodeToken(point(9)) }));
    await Bun.sleep(60);
    // pollMs is 5: ~12 rounds for all 50 waiters, where a poll per waiter would be ~600.
    expect(s.progressReads()).toBeLessThan(30);
    s.tracker.apply({
      views: { user_profile_view: point(9) },
      complete: point(9),
      completeSeq: 9,
      invalidations: [],
    });
    const answers = await Promise.all(pending);
    expect(answers).toHaveLength(50);
    const after = s.progressReads();
    await Bun.sleep(30);
    expect(s.progressReads()).toBe(after);
  });

  test("bypass_cache always loads", async () => {
    const s = setup();
    await s.run();
    const r = await s.run({ bypassCache: true });
    expect(r.meta.fromCache).toBe(false);
    expect(s.loads()).toBe(2);
  });

  test("meta.source says where each answer came from: VIEW, then CACHE", async () => {
    const s = setup();
    expect((await s.run()).meta.source).toBe(AnswerSource.VIEW);
    expect((await s.run()).meta.source).toBe(AnswerSource.CACHE);
  });

  test("STRONG reads the write model every time: never cached, staleness 0, a token past every write", async () => {
    const s = setup();
    s.tick(5_000);
    for (let i = 0; i < 2; i++) {
      const r = await s.run({ consistency: ReadConsistency.STRONG });
      expect(r.payload).toEqual({ value: "v1 (write model)" });
      expect(r.meta).toMatchObject({ fromCache: false, stalenessMs: 0n, source: AnswerSource.WRITE_MODEL });
      expect(decodeToken(r.meta.consistencyToken)).toEqual(point(1_000));
    }
    expect(s.loads()).toBe(2);
    // Not a fallback, and nothing left in the cache for eventual reads.
    expect(s.fallbacks).toEqual([]);
    expect((await s.run()).meta.source).toBe(AnswerSource.VIEW);
  });

  test("fallback: a token not reached after waitMs is answered from the write model", async () => {
    const s = setup({ waitMs: 30, stalenessMs: 60_000, slots: 1 });
    const started = performance.now();
    const r = await s.run({ minConsistencyToken: encodeToken(point(9)) });
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(r.meta.source).toBe(AnswerSource.WRITE_MODEL);
    expect(r.payload).toEqual({ value: "v1 (write model)" });
    expect(s.fallbacks).toEqual(["GetUserProfile:token_wait"]);
  });

  test("fallback: while the read side has sent no heartbeat for stalenessMs, eventual reads use the write model", async () => {
    const s = setup({ waitMs: 30, stalenessMs: 1_000, slots: 1 });
    expect((await s.run()).meta.source).toBe(AnswerSource.VIEW);
    s.tick(1_001);
    expect((await s.run()).meta.source).toBe(AnswerSource.WRITE_MODEL);
    expect(s.fallbacks).toEqual(["GetUserProfile:read_side_behind"]);
    // A heartbeat: healthy again, the cache answers.
    s.tracker.apply({
      views: {},
      complete: point(0),
      completeSeq: 0,
      invalidations: [],
      caughtUpAt: 1_001_001,
    });
    expect((await s.run()).meta.source).toBe(AnswerSource.CACHE);
  });

  test("fallback reads are bounded: without a free slot a token waits for the views (then DEADLINE_EXCEEDED)", async () => {
    const s = setup({ waitMs: 10, stalenessMs: 60_000, slots: 0 });
    const started = performance.now();
    await expect(
      s.run({ minConsistencyToken: encodeToken(point(9)) }, new AbortController().signal, null),
    ).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
    expect(s.fallbacks).toEqual([]);
    // A read without a token is answered from the views as they are.
    s.tick(120_000);
    expect((await s.run()).meta.source).toBe(AnswerSource.VIEW);
  });

  test("at the default bound, a burst of reads with the read side down is all answered from the write model, the bound at a time; beyond its queue the views answer", async () => {
    const reads = loadConfig({}).reads;
    // The default bound and queue length; the queue's time limit is tested in slots.unit.test.ts, and is
    // raised here so that a slow machine cannot make a queued read give up while the loads are held.
    const slots = fallbackSlots({ ...reads, fallbackQueueMs: 60_000 });
    const s = setup({ waitMs: 30, stalenessMs: reads.fallbackStalenessMs, slots });
    s.tick(reads.fallbackStalenessMs + 1); // no heartbeat for longer than the staleness bound
    const open = s.hold();
    const burst = reads.fallbackConcurrency + reads.fallbackQueueLength;
    expect(reads.fallbackConcurrency).toBeGreaterThanOrEqual(5);
    expect(burst).toBeGreaterThanOrEqual(16); // bench:queries' lanes
    const answers = Array.from({ length: burst }, () => s.run());
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(s.writeModelLoads()).toBe(reads.fallbackConcurrency);
    expect(slots.waiting()).toBe(reads.fallbackQueueLength);
    // Beyond the bound and its queue: a read without a token is answered from the views as they are, at once,
    // and one with a token the views have not reached waits for them (then DEADLINE_EXCEEDED).
    expect((await s.run()).meta.source).toBe(AnswerSource.VIEW);
    await expect(
      s.run({ minConsistencyToken: encodeToken(point(9)) }, new AbortController().signal, null),
    ).rejects.toMatchObject({ code: "DEADLINE_EXCEEDED" });
    expect(s.writeModelLoads()).toBe(reads.fallbackConcurrency);
    open();
    const sources = (await Promise.all(answers)).map((a) => a.meta.source);
    expect(sources).toEqual(Array(burst).fill(AnswerSource.WRITE_MODEL));
    expect(s.mostWriteModelLoads()).toBe(reads.fallbackConcurrency);
    expect(s.fallbacks.length).toBe(burst);
  });

  test("with a fallback configured, a healthy read side costs no extra query: hits, misses and tokens reached", async () => {
    const s = setup({ waitMs: 1_000, stalenessMs: 10_000, slots: 4 });
    s.tracker.apply({
      views: { user_profile_view: point(5) },
      complete: point(5),
      completeSeq: 5,
      invalidations: [],
      caughtUpAt: 1_000_000,
    });
    for (let i = 0; i < 20; i++) {
      s.tick(100);
      s.tracker.apply({
        views: {},
        complete: point(5),
        completeSeq: 5,
        invalidations: [],
        caughtUpAt: 1_000_000 + i * 100,
      });
      await s.run(i % 2 ? {} : { minConsistencyToken: encodeToken(point(5)) });
      await s.run({ bypassCache: true });
    }
    expect(s.extraQueries()).toBe(0);
    expect(s.loads()).toBe(21);
    expect(s.fallbacks).toEqual([]);
  });
});
