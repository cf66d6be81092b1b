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

/** A cache's expected steady state for one query type (see {@link steadyState}). */
export interface SteadyState {
  /** Share of reads answered from the cache. */
  readonly hitRate: number;
  /** Entries held on average: the working set the size bound must hold for `hitRate`. */
  readonly entries: number;
}

/**
 * The steady state of a cache whose entries live `ttlMs` from their load, with no size bound, under a stream of
 * `readsPerSecond` zipf-distributed reads over the sampler's `n` keys and `invalidationsPerSecond`
 * invalidations of keys drawn from the same distribution (as the mix's writes are). A key read at rate λ and
 * invalidated at rate μ (Poisson arrivals): each miss loads an entry that lives L = min(T, time to the next
 * invalidation), E[L] = (1 − e^(−μT)) / μ (T when μ = 0), and the λ·E[L] reads of that time hit; the next
 * read misses again. So λE[L] / (1 + λE[L]) of its reads hit, and it holds an entry E[L] / (E[L] + 1/λ) of
 * the time. With no invalidations the hit rate is the highest the TTL allows (each key misses once per TTL);
 * with an infinite TTL, the highest the invalidations allow.
 */
export function steadyState(
  sampler: ZipfSampler,
  n: number,
  rates: { readonly readsPerSecond: number; readonly invalidationsPerSecond: number; readonly ttlMs: number },
): SteadyState {
  const ttl = rates.ttlMs / 1000;
  let hitRate = 0;
  let entries = 0;
  for (let k = 1; k <= n; k++) {
    const p = sampler.probabilityOfRank(k);
    const lambda = rates.readsPerSecond * p;
    const mu = rates.invalidationsPerSecond * p;
    if (lambda <= 0) continue;
    const life = mu > 0 ? -Math.expm1(-mu * ttl) / mu : ttl;
    if (!Number.isFinite(life)) {
      // No TTL and no invalidations: the key misses once, ever.
      hitRate += p;
      entries += 1;
      continue;
    }
    hitRate += (p * lambda * life) / (1 + lambda * life);
    entries += life / (life + 1 / lambda);
  }
  return { hitRate, entries };
}
