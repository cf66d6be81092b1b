import { describe, expect, test } from "bun:test";
import { createZipf, seededRandom, steadyState } from "./zipf";

/** Simulates a TTL cache with no size bound under zipf reads and invalidations (Poisson, as the model). */
function simulate(n: number, readsPerSecond: number, invalidationsPerSecond: number, ttlS: number): number {
  const zipf = createZipf(n, 1.1, 3);
  const random = seededRandom(4);
  const rate = readsPerSecond + invalidationsPerSecond;
  const storedAt = new Map<number, number>();
  let t = 0;
  let reads = 0;
  let hits = 0;
  for (let i = 0; i < 400_000; i++) {
    t += -Math.log(1 - random()) / rate;
    const key = zipf.next();
    if (random() * rate < invalidationsPerSecond) {
      storedAt.delete(key);
      continue;
    }
    const at = storedAt.get(key);
    const measuring = i > 100_000;
    if (at !== undefined && t - at < ttlS) {
      if (measuring) hits++;
    } else storedAt.set(key, t);
    if (measuring) reads++;
  }
  return hits / reads;
}

describe("steadyState", () => {
  test("matches a simulated TTL cache with invalidations", () => {
    const n = 2_000;
    const zipf = createZipf(n, 1.1, 3);
    for (const [reads, invalidations, ttlS] of [
      [400, 0, 10],
      [400, 40, 10],
      [100, 20, 60],
    ] as const) {
      const model = steadyState(zipf, n, {
        readsPerSecond: reads,
        invalidationsPerSecond: invalidations,
        ttlMs: ttlS * 1000,
      });
      expect(Math.abs(model.hitRate - simulate(n, reads, invalidations, ttlS))).toBeLessThan(0.01);
    }
  });

  test("more TTL, more hits; invalidations take some back; entries never exceed the keys", () => {
    const n = 1_000;
    const zipf = createZipf(n, 1.1);
    const at = (ttlMs: number, invalidationsPerSecond: number) =>
      steadyState(zipf, n, { readsPerSecond: 100, invalidationsPerSecond, ttlMs });
    expect(at(60_000, 0).hitRate).toBeGreaterThan(at(10_000, 0).hitRate);
    expect(at(60_000, 10).hitRate).toBeLessThan(at(60_000, 0).hitRate);
    expect(at(1e12, 0).hitRate).toBeCloseTo(1, 6);
    expect(at(1e12, 0).entries).toBeLessThanOrEqual(n);
    expect(at(Number.POSITIVE_INFINITY, 0).hitRate).toBeCloseTo(1, 9);
    const writesOnly = at(Number.POSITIVE_INFINITY, 10).hitRate;
    expect(writesOnly).toBeGreaterThan(at(60_000, 10).hitRate);
    expect(writesOnly).toBeLessThan(1);
  });
});
