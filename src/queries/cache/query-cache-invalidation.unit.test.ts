import { describe, expect, test } from "bun:test";
import { deferred, fakeClock } from "./cache.testkit";
import { cacheKey } from "./cache-key";
import { createQueryCache } from "./query-cache";

const profile = (u: string) => cacheKey("GetUserProfile", { user_id: u });
const stats = (u: string) => cacheKey("GetUserStatistics", { user_id: u });
const history = (c: string) => cacheKey("GetConversationHistory", { conversation_id: c });

function setup() {
  const clock = fakeClock();
  const cache = createQueryCache<string>({ ttlMs: 60_000, maxEntries: 100, maxBytes: 1e6, now: clock.now });
  const put = (key: string, tags: string[], value: string) => cache.getOrLoad(key, tags, async () => value);
  return { cache, clock, put };
}

describe("query cache: invalidation", () => {
  test("by tag, across every query type", async () => {
    const { cache, put } = setup();
    await put(profile("u1"), ["user:u1"], "p1");
    await put(stats("u1"), ["user:u1"], "s1");
    await put(profile("u2"), ["user:u2"], "p2");
    expect(cache.invalidate(undefined, "user:u1")).toBe(2);
    expect(cache.get(profile("u1"))).toBeUndefined();
    expect(cache.get(stats("u1"))).toBeUndefined();
    expect(cache.get(profile("u2"))?.value).toBe("p2");
    expect(cache.stats()).toMatchObject({ entries: 1, invalidations: 2 });
  });

  test("by (query type, tag): other query types with the tag stay", async () => {
    const { cache, put } = setup();
    await put(profile("u1"), ["user:u1"], "p1");
    await put(stats("u1"), ["user:u1"], "s1");
    expect(cache.invalidate("GetUserStatistics", "user:u1")).toBe(1);
    expect(cache.get(stats("u1"))).toBeUndefined();
    expect(cache.get(profile("u1"))?.value).toBe("p1");
  });

  test("an entry with several tags goes when any of them is invalidated", async () => {
    const { cache, put } = setup();
    await put(history("c1"), ["conversation:c1", "user:u1"], "h");
    cache.invalidate(undefined, "user:u1");
    expect(cache.get(history("c1"))).toBeUndefined();
    expect(cache.invalidate(undefined, "conversation:c1")).toBe(0);
  });

  test("keys not made by cacheKey are dropped by an invalidation of any query type", async () => {
    const { cache, put } = setup();
    await put("raw", ["user:u1"], "r");
    cache.invalidate("GetUserProfile", "user:u1");
    expect(cache.get("raw")).toBeUndefined();
  });

  test("invalidateAll drops everything", async () => {
    const { cache, put } = setup();
    await put(profile("u1"), ["user:u1"], "p1");
    await put(profile("u2"), ["user:u2"], "p2");
    expect(cache.invalidateAll()).toBe(2);
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0, invalidations: 2 });
  });
});

describe("query cache: a load racing an invalidation", () => {
  test("a load started before the invalidation is not stored, and a later get misses", async () => {
    const { cache } = setup();
    const slow = deferred<string>();
    const before = cache.getOrLoad(profile("u1"), ["user:u1"], () => slow.promise);
    cache.invalidate("GetUserProfile", "user:u1");
    slow.resolve("old");
    // The caller that asked before the invalidation gets its answer...
    expect((await before).value).toBe("old");
    // ...but it is not cached.
    expect(cache.get(profile("u1"))).toBeUndefined();
    expect(await cache.getOrLoad(profile("u1"), ["user:u1"], async () => "new")).toMatchObject({
      value: "new",
      fromCache: false,
    });
    expect(cache.get(profile("u1"))?.value).toBe("new");
  });

  test("a call after the invalidation does not join the load that started before it", async () => {
    const { cache } = setup();
    const slow = deferred<string>();
    const before = cache.getOrLoad(profile("u1"), ["user:u1"], () => slow.promise);
    cache.invalidate(undefined, "user:u1");
    let afterLoads = 0;
    const after = cache.getOrLoad(profile("u1"), ["user:u1"], async () => {
      afterLoads++;
      return "new";
    });
    // A third call shares the new load, not the old one.
    const third = cache.getOrLoad(profile("u1"), ["user:u1"], async () => "unused");
    slow.resolve("old");
    expect((await before).value).toBe("old");
    expect((await after).value).toBe("new");
    expect((await third).value).toBe("new");
    expect(afterLoads).toBe(1);
    expect(cache.get(profile("u1"))?.value).toBe("new");
  });

  test("the same holds for a bypassing load and for invalidateAll", async () => {
    const { cache } = setup();
    const slow = deferred<string>();
    const bypass = cache.getOrLoad(profile("u1"), ["user:u1"], () => slow.promise, { bypass: true });
    cache.invalidateAll();
    slow.resolve("old");
    await bypass;
    expect(cache.get(profile("u1"))).toBeUndefined();
  });

  test("an invalidation of another tag or query type does not stop the store", async () => {
    const { cache } = setup();
    const slow = deferred<string>();
    const load = cache.getOrLoad(profile("u1"), ["user:u1"], () => slow.promise);
    cache.invalidate(undefined, "user:u2");
    cache.invalidate("GetUserStatistics", "user:u1");
    slow.resolve("fresh");
    await load;
    expect(cache.get(profile("u1"))?.value).toBe("fresh");
  });

  test("a load started after the invalidation is stored", async () => {
    const { cache } = setup();
    cache.invalidate(undefined, "user:u1");
    const slow = deferred<string>();
    const load = cache.getOrLoad(profile("u1"), ["user:u1"], () => slow.promise);
    slow.resolve("fresh");
    await load;
    expect(cache.get(profile("u1"))?.value).toBe("fresh");
  });

  test("invalidation records are pruned while loads run and cleared when none does", async () => {
    const { cache } = setup();
    const slow = deferred<string>();
    const load = cache.getOrLoad(profile("u1"), ["user:u1"], () => slow.promise);
    for (let i = 0; i < 5_000; i++) cache.invalidate(undefined, `user:x${i}`);
    // The running load is still refused after thousands of unrelated records and a prune.
    cache.invalidate(undefined, "user:u1");
    for (let i = 0; i < 5_000; i++) cache.invalidate("GetUserProfile", `user:y${i}`);
    slow.resolve("old");
    await load;
    expect(cache.get(profile("u1"))).toBeUndefined();
  });
});
