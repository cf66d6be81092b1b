/**
 * Zipf-distributed draws over `n` items: item of rank k (1-based) with probability proportional to 1 / k^s.
 * A seeded generator (mulberry32), so a run draws the same sequence each time; ranks are mapped to items
 * through a seeded permutation, so the popular items are not simply the first ones seeded.
 */

/** Uniform draws in [0, 1) from a 32-bit seed (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws item indexes 0..n-1. */
export interface ZipfSampler {
  /** One draw: an item index. */
  next(): number;
  /** The item of rank k (1 = most popular). */
  itemOfRank(k: number): number;
  /** Probability of the item of rank k. */
  probabilityOfRank(k: number): number;
}

/** Creates a sampler over `n` items with exponent `s` (s ≈ 1.1 is a typical web workload). */
export function createZipf(n: number, s: number, seed = 42): ZipfSampler {
  if (!Number.isInteger(n) || n < 1) throw new RangeError("n must be a positive integer");
  const cdf = new Float64Array(n);
  let total = 0;
  for (let k = 1; k <= n; k++) {
    total += 1 / k ** s;
    cdf[k - 1] = total;
  }
  for (let i = 0; i < n; i++) cdf[i] = (cdf[i] as number) / total;
  const random = seededRandom(seed);
  const items = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = items[i] as number;
    items[i] = items[j] as number;
    items[j] = t;
  }
  return {
    next() {
      const u = random();
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((cdf[mid] as number) < u) lo = mid + 1;
        else hi = mid;
      }
      return items[lo] as number;
    },
    itemOfRank: (k) => items[k - 1] as number,
    probabilityOfRank: (k) => 1 / k ** s / total,
  };
}

/**
 * The highest hit rate a cache whose entries live `ttlMs` from their load can reach on a stream of
 * `readsPerSecond` zipf-distributed reads over the sampler's `n` keys, with no invalidations and no size bound:
 * a key read at rate λ misses once per expiry and then hits the λ·T reads of the next T, so λT / (1 + λT) of
 * its reads hit (Poisson arrivals).
 */
export function ttlHitRateBound(
  sampler: ZipfSampler,
  n: number,
  readsPerSecond: number,
  ttlMs: number,
): number {
  const readsPerTtl = (readsPerSecond * ttlMs) / 1000;
  let rate = 0;
  for (let k = 1; k <= n; k++) {
    const p = sampler.probabilityOfRank(k);
    const perKey = readsPerTtl * p;
    rate += (p * perKey) / (1 + perKey);
  }
  return rate;
}
