import { describe, expect, test } from "bun:test";
import { decodeToken, encodeToken, type StreamPoint } from "../commands/consistency-token";
import { createQueryCache } from "./cache";
import { createConsistencyTracker } from "./consistency-tracker";
import { type CachedAnswer, createQueryBus, type QueryDefinition } from "./query-bus";

const actor = { sub: "u1", role: "user" } as const;
const point = (p: number): StreamPoint => ({ transactionId: BigInt(p), position: BigInt(p) });

function setup() {
  let now = 1_000_000;
  let progressReads = 0;
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
  const definition: QueryDefinition<{ userId: string }> = {
    queryType: "GetUserProfile",
    views: ["user_profile_view"],
    parse: (r) => ({ userId: (r as { userId: string }).userId }),
    authorize: async () => {},
    tags: (p) => [`user:${p.userId}`],
    load: async () => {
      loads++;
      return { value };
    },
  };
  const bus = createQueryBus({
    cache,
    tracker,
    now: () => now,
    isWritten: async (p) => p.position <= BigInt(written),
    maxWaitMs: 100,
  });
  const run = (
    options: { minConsistencyToken?: string; bypassCache?: boolean } = {},
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
    progressReads: () => progressReads,
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
  });

  test("a token not reached before the deadline is DEADLINE_EXCEEDED; a malformed one INVALID_ARGUMENT", async () => {
    const s = setup();
    await expect(
      s.run({ minConsistencyToken: encodeToken(point(100)) }, AbortSignal.timeout(30)),
    ).rejects.toMatchObject({
      code: "DEADLINE_EXCEEDED",
    });
    await expect(s.run({ minConsistencyToken: "nope" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  test("a token beyond anything written is INVALID_ARGUMENT at once", async () => {
    const s = setup();
    const started = performance.now();
    await expect(s.run({ minConsistencyToken: encodeToken(point(5_000)) })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    expect(performance.now() - started).toBeLessThan(50);
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
});
