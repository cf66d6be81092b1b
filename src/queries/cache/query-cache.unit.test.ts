import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../errors";
import { deferred, fakeClock } from "./cache.testkit";
import { cacheKey } from "./cache-key";
import { createQueryCache } from "./query-cache";

const key = cacheKey("GetUserProfile", { user_id: "u1" });
const tags = ["user:u1"];

function setup(ttlMs = 60_000) {
  const clock = fakeClock();
  const events: string[] = [];
  const cache = createQueryCache<string>({
    ttlMs,
    maxEntries: 100,
    maxBytes: 1_000_000,
    now: clock.now,
    onHit: (_, type) => events.push(`hit ${type}`),
    onMiss: (_, type) => events.push(`miss ${type}`),
  });
  return { cache, clock, events };
}

describe("query cache: hits, misses, TTL", () => {
  test("a miss loads and stores; the next call is a hit with the stored time", async () => {
    const { cache, clock, events } = setup();
    let loads = 0;
    const load = async () => `v${++loads}`;
    expect(cache.get(key)).toBeUndefined();
    expect(await cache.getOrLoad(key, tags, load)).toEqual({
      value: "v1",
      fromCache: false,
      storedAt: 1_000,
    });
    clock.advance(500);
    expect(await cache.getOrLoad(key, tags, load)).toEqual({ value: "v1", fromCache: true, storedAt: 1_000 });
    expect(cache.get(key)).toEqual({ value: "v1", storedAt: 1_000 });
    expect(loads).toBe(1);
    expect(events).toEqual([
      "miss GetUserProfile",
      "miss GetUserProfile",
      "hit GetUserProfile",
      "hit GetUserProfile",
    ]);
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 2, entries: 1, loads: 1 });
  });

  test("an entry expires ttlMs after it was stored and is dropped", async () => {
    const { cache, clock } = setup(1_000);
    await cache.getOrLoad(key, tags, async () => "old");
    clock.advance(999);
    expect(cache.get(key)?.value).toBe("old");
    clock.advance(1);
    expect(cache.get(key)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0, expirations: 1 });
    expect(await cache.getOrLoad(key, tags, async () => "new")).toMatchObject({
      value: "new",
      fromCache: false,
    });
  });

  test("pruneExpired drops every expired entry at once", async () => {
    const { cache, clock } = setup(1_000);
    await cache.getOrLoad(cacheKey("Q", { n: 1 }), tags, async () => "a");
    clock.advance(600);
    await cache.getOrLoad(cacheKey("Q", { n: 2 }), tags, async () => "b");
    clock.advance(500);
    expect(cache.pruneExpired()).toBe(1);
    expect(cache.stats().entries).toBe(1);
  });

  test("a TTL of 0 stores nothing but still shares loads", async () => {
    const { cache } = setup(0);
    const d = deferred<string>();
    let loads = 0;
    const load = () => {
      loads++;
      return d.promise;
    };
    const both = Promise.all([cache.getOrLoad(key, tags, load), cache.getOrLoad(key, tags, load)]);
    d.resolve("v");
    expect((await both).map((r) => r.value)).toEqual(["v", "v"]);
    expect(loads).toBe(1);
    expect(cache.stats().entries).toBe(0);
  });

  test("bad bounds are refused", () => {
    expect(() => createQueryCache({ ttlMs: -1, maxEntries: 1, maxBytes: 1 })).toThrow(ConfigError);
    expect(() => createQueryCache({ ttlMs: 0, maxEntries: 0, maxBytes: 1 })).toThrow(ConfigError);
    expect(() => createQueryCache({ ttlMs: 0, maxEntries: 1, maxBytes: 0 })).toThrow(ConfigError);
  });
});

describe("query cache: single-flight", () => {
  test("10 concurrent misses call load once and share its result", async () => {
    const { cache } = setup();
    const d = deferred<string>();
    let loads = 0;
    const load = () => {
      loads++;
      return d.promise;
    };
    const calls = Array.from({ length: 10 }, () => cache.getOrLoad(key, tags, load));
    d.resolve("shared");
    const results = await Promise.all(calls);
    expect(loads).toBe(1);
    expect(results.every((r) => r.value === "shared" && !r.fromCache)).toBe(true);
    expect(cache.stats()).toMatchObject({ misses: 10, hits: 0, loads: 1, entries: 1 });
  });

  test("a failed load is shared as a rejection and not cached", async () => {
    const { cache } = setup();
    const d = deferred<string>();
    let loads = 0;
    const failing = () => {
      loads++;
      return d.promise;
    };
    const calls = Array.from({ length: 5 }, () => cache.getOrLoad(key, tags, failing));
    const boom = new Error("database down");
    d.reject(boom);
    const settled = await Promise.allSettled(calls);
    expect(settled.every((s) => s.status === "rejected" && s.reason === boom)).toBe(true);
    expect(loads).toBe(1);
    expect(cache.get(key)).toBeUndefined();
    expect(await cache.getOrLoad(key, tags, async () => "recovered")).toMatchObject({
      value: "recovered",
      fromCache: false,
    });
  });

  test("a load that throws synchronously rejects instead of throwing", async () => {
    const { cache } = setup();
    const load = (): Promise<string> => {
      throw new Error("sync");
    };
    await expect(cache.getOrLoad(key, tags, load)).rejects.toThrow("sync");
  });

  test("different keys load separately", async () => {
    const { cache } = setup();
    const loaded: string[] = [];
    const load = (v: string) => async () => {
      loaded.push(v);
      return v;
    };
    await Promise.all([
      cache.getOrLoad(cacheKey("GetUserProfile", { user_id: "a" }), ["user:a"], load("a")),
      cache.getOrLoad(cacheKey("GetUserProfile", { user_id: "b" }), ["user:b"], load("b")),
    ]);
    expect(loaded.sort()).toEqual(["a", "b"]);
  });
});

describe("query cache: bypass", () => {
  test("bypass loads even when cached, does not join a running load, and stores the fresh value", async () => {
    const { cache, events } = setup();
    await cache.getOrLoad(key, tags, async () => "cached");
    const slow = deferred<string>();
    cache.invalidate(undefined, "user:u1");
    const shared = cache.getOrLoad(key, tags, () => slow.promise);
    const fresh = await cache.getOrLoad(key, tags, async () => "fresh", { bypass: true });
    expect(fresh).toMatchObject({ value: "fresh", fromCache: false });
    expect(cache.get(key)?.value).toBe("fresh");
    // The older load finishing later does not replace the newer value.
    slow.resolve("older");
    expect((await shared).value).toBe("older");
    expect(cache.get(key)?.value).toBe("fresh");
    expect(events.filter((e) => e.startsWith("miss"))).toHaveLength(2);
  });
});
