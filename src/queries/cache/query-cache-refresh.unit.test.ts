/** Refresh ahead of expiry and reload after an invalidation, for entries in use. */
import { describe, expect, test } from "bun:test";
import { deferred, fakeClock } from "./cache.testkit";
import { cacheKey } from "./cache-key";
import { createQueryCache } from "./query-cache";

const key = cacheKey("GetUserProfile", { userId: "u1" });
const tags = ["user:u1"];

function setup(options: { refreshAhead?: number; reloadInvalidated?: boolean; ttlMs?: number }) {
  const clock = fakeClock(0);
  const refreshed: string[] = [];
  const cache = createQueryCache<string>({
    ttlMs: 1_000,
    maxEntries: 10,
    maxBytes: 1e6,
    now: clock.now,
    onRefresh: (_k, _t, reason) => refreshed.push(reason),
    ...options,
  });
  let version = 0;
  let loads = 0;
  const load = async () => {
    loads++;
    return `v${version}`;
  };
  return {
    cache,
    clock,
    refreshed,
    load,
    loads: () => loads,
    write() {
      version++;
    },
  };
}

describe("query cache refresh", () => {
  test("a hit late in the TTL answers from the cache and reloads in the background; the entry then lives on", async () => {
    const t = setup({ refreshAhead: 0.8 });
    await t.cache.getOrLoad(key, tags, t.load);
    t.clock.advance(500);
    expect(await t.cache.getOrLoad(key, tags, t.load)).toMatchObject({ value: "v0", fromCache: true });
    expect(t.loads()).toBe(1);
    t.write();
    t.clock.advance(350); // 850 ms: past 80% of the TTL
    expect(await t.cache.getOrLoad(key, tags, t.load)).toMatchObject({ value: "v0", fromCache: true });
    await Bun.sleep(0);
    expect(t.loads()).toBe(2);
    expect(t.refreshed).toEqual(["ahead"]);
    t.clock.advance(500); // 1350 ms: the first entry would have expired; the refreshed one (850) has not
    expect(await t.cache.getOrLoad(key, tags, t.load)).toMatchObject({ value: "v1", fromCache: true });
    expect(t.cache.stats()).toMatchObject({ hits: 3, misses: 1, loads: 2, refreshes: 1 });
  });

  test("an invalidated entry that was read is loaded again at once; one nobody read is not", async () => {
    const t = setup({ reloadInvalidated: true });
    const other = cacheKey("GetUserProfile", { userId: "u2" });
    await t.cache.getOrLoad(key, tags, t.load);
    await t.cache.getOrLoad(key, tags, t.load); // read: in use
    await t.cache.getOrLoad(other, ["user:u2"], t.load); // stored, never read
    t.write();
    t.cache.invalidate(undefined, "user:u1");
    t.cache.invalidate(undefined, "user:u2");
    await Bun.sleep(0);
    expect(t.refreshed).toEqual(["invalidated"]);
    expect(await t.cache.getOrLoad(key, tags, t.load)).toMatchObject({ value: "v1", fromCache: true });
    expect(await t.cache.getOrLoad(other, ["user:u2"], t.load)).toMatchObject({
      value: "v1",
      fromCache: false,
    });
  });

  test("reloads follow writes only while the key was read within the last TTL", async () => {
    const t = setup({ reloadInvalidated: true });
    await t.cache.getOrLoad(key, tags, t.load);
    await t.cache.getOrLoad(key, tags, t.load); // read at 0
    for (const at of [100, 500, 1200]) {
      t.clock.advance(at - t.clock.now());
      t.write();
      t.cache.invalidate(undefined, "user:u1");
      await Bun.sleep(0);
    }
    // Reloaded after the writes at 100 and 500 (read 100 and 500 ms before), not after the one at 1200.
    expect(t.refreshed).toEqual(["invalidated", "invalidated"]);
    expect(t.cache.get(key)).toBeUndefined();
  });

  test("a lookup during the reload shares it; a second invalidation discards it", async () => {
    const t = setup({ reloadInvalidated: true });
    // The entry's reload is the load that stored it: here one whose answers the test hands out.
    let answer = deferred<string>();
    let calls = 0;
    const gated = () => {
      calls++;
      return answer.promise;
    };
    const stored = t.cache.getOrLoad(key, tags, gated);
    answer.resolve("a1");
    await stored;
    await t.cache.getOrLoad(key, tags, gated); // a hit: the entry is in use

    answer = deferred<string>();
    t.cache.invalidate(undefined, "user:u1"); // reload starts, after this turn
    await Promise.resolve();
    expect(calls).toBe(2);
    const during = t.cache.getOrLoad(key, tags, async () => "not used");
    expect(calls).toBe(2); // shared, not a second load
    t.cache.invalidate(undefined, "user:u1"); // before the reload finished
    answer.resolve("a2");
    // A call begun between the two invalidations may have the reload's answer...
    expect(await during).toMatchObject({ value: "a2", fromCache: false });
    // ...but it is not kept past the second one.
    expect(await t.cache.getOrLoad(key, tags, async () => "a3")).toMatchObject({
      value: "a3",
      fromCache: false,
    });
  });

  test("after a failed refresh, hits leave the key alone for a second, then try again", async () => {
    const t = setup({ refreshAhead: 0.5, ttlMs: 10_000 });
    let failing = false;
    const load = async () => {
      if (failing) throw new Error("database down");
      return "v";
    };
    await t.cache.getOrLoad(key, tags, load);
    failing = true;
    for (const at of [6_000, 6_500, 7_100]) {
      t.clock.advance(at - t.clock.now());
      expect(await t.cache.getOrLoad(key, tags, load)).toMatchObject({ value: "v", fromCache: true });
      await Bun.sleep(0);
    }
    expect(t.refreshed).toEqual(["ahead", "ahead"]);
  });
});
