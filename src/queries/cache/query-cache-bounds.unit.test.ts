import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { cacheKey } from "./cache-key";
import { createQueryCache } from "./query-cache";

/** A value whose size the test decides. */
interface Sized {
  readonly id: number;
  readonly size: number;
}

const key = (n: number) => cacheKey("Q", { n });

function setup(maxEntries: number, maxBytes: number) {
  const cache = createQueryCache<Sized>({
    ttlMs: 60_000,
    maxEntries,
    maxBytes,
    now: () => 0,
    sizeOf: (v) => v.size,
  });
  const put = (n: number, size = 1) => cache.getOrLoad(key(n), [`t:${n}`], async () => ({ id: n, size }));
  return { cache, put };
}

describe("query cache: bounds", () => {
  test("beyond maxEntries the least recently used entry is evicted", async () => {
    const { cache, put } = setup(3, 1_000);
    await put(1);
    await put(2);
    await put(3);
    cache.get(key(1)); // 2 is now the least recently used
    await put(4);
    expect(cache.get(key(2))).toBeUndefined();
    expect([1, 3, 4].map((n) => cache.get(key(n))?.value.id)).toEqual([1, 3, 4]);
    expect(cache.stats()).toMatchObject({ entries: 3, evictions: 1 });
  });

  test("beyond maxBytes least recently used entries are evicted until the new one fits", async () => {
    const { cache, put } = setup(100, 100);
    await put(1, 40);
    await put(2, 40);
    await put(3, 20);
    await cache.getOrLoad(key(1), [], async () => ({ id: 0, size: 0 })); // a hit: 2 is least recent
    await put(4, 50);
    expect(cache.get(key(2))).toBeUndefined();
    expect(cache.get(key(3))).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 2, bytes: 90, evictions: 2 });
  });

  test("a value larger than maxBytes is returned but not stored", async () => {
    const { cache, put } = setup(100, 100);
    await put(1, 10);
    expect((await put(2, 101)).value.id).toBe(2);
    expect(cache.get(key(2))).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 10, evictions: 0 });
  });

  test("replacing an entry accounts its bytes once", async () => {
    const { cache, put } = setup(100, 100);
    await put(1, 30);
    await cache.getOrLoad(key(1), [], async () => ({ id: 1, size: 60 }), { bypass: true });
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 60 });
  });

  test("the default size estimate bounds bytes too", async () => {
    const cache = createQueryCache<{ text: string }>({ ttlMs: 60_000, maxEntries: 100, maxBytes: 1_000 });
    for (let n = 0; n < 20; n++) await cache.getOrLoad(key(n), [], async () => ({ text: "x".repeat(100) }));
    expect(cache.stats().bytes).toBeLessThanOrEqual(1_000);
    expect(cache.stats().entries).toBeLessThan(20);
  });

  test("property: entries and bytes never exceed the limits and bytes is the sum of what is held", async () => {
    type Op =
      | { kind: "put"; n: number; size: number; bypass: boolean }
      | { kind: "get"; n: number }
      | { kind: "invalidate"; n: number };
    const n = fc.integer({ min: 0, max: 30 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant("put"),
        n,
        size: fc.integer({ min: 0, max: 300 }),
        bypass: fc.boolean(),
      }),
      fc.record({ kind: fc.constant("get"), n }),
      fc.record({ kind: fc.constant("invalidate"), n }),
    ) as fc.Arbitrary<Op>;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 1_000 }),
        fc.array(op, { maxLength: 80 }),
        async (maxEntries, maxBytes, ops) => {
          const { cache } = setup(maxEntries, maxBytes);
          const held = new Map<number, number>();
          for (const o of ops) {
            if (o.kind === "put") {
              const load = async () => ({ id: o.n, size: o.size });
              await cache.getOrLoad(key(o.n), [`t:${o.n}`], load, { bypass: o.bypass });
            } else if (o.kind === "get") {
              cache.get(key(o.n));
            } else {
              cache.invalidate(undefined, `t:${o.n}`);
            }
            held.clear();
            for (let i = 0; i <= 30; i++) {
              const hit = cache.get(key(i));
              if (hit) held.set(i, hit.value.size);
            }
            const s = cache.stats();
            expect(s.entries).toBeLessThanOrEqual(maxEntries);
            expect(s.bytes).toBeLessThanOrEqual(maxBytes);
            expect(s.entries).toBe(held.size);
            expect(s.bytes).toBe([...held.values()].reduce((a, b) => a + b, 0));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
