/**
 * How sure the lag growth ratio of queries.bench.ts is: a paired block bootstrap of p99(large) / p99(small).
 *
 * The keyed lag samples of the two sizes are sent interleaved (lag-probe.ts `runInterleaved`), so every block
 * of time holds samples of both, taken under the same machine load. Resampling whole blocks, the same blocks
 * for both sizes, keeps that pairing and the load's drift from block to block (an independent resampling of
 * single samples would treat a burst of slow samples as chance and claim too narrow an interval).
 */
import { percentile } from "./stats";
import { seededRandom } from "./zipf";

/** A lag sample's send time and value, ms. */
export interface TimedValue {
  readonly at: number;
  readonly value: number;
}

/** Options of {@link ratioInterval}. */
export interface RatioIntervalOptions {
  /** Length of a block of time, ms. */
  readonly blockMs?: number;
  /** Bootstrap resamples. */
  readonly resamples?: number;
  /** Percentile compared (99 for p99). */
  readonly percentile?: number;
  /** Coverage of the interval (0.9: from the 5th to the 95th percentile of the resampled ratios). */
  readonly coverage?: number;
  readonly seed?: number;
}

/** The interval of the ratio, and the number of blocks it was resampled from. */
export interface RatioInterval {
  readonly low: number;
  readonly high: number;
  readonly blocks: number;
}

/** Bootstrap interval of percentile(`large`) / percentile(`small`); NaN bounds when either side is empty. */
export function ratioInterval(
  small: readonly TimedValue[],
  large: readonly TimedValue[],
  options: RatioIntervalOptions = {},
): RatioInterval {
  const blockMs = options.blockMs ?? 1_000;
  const resamples = options.resamples ?? 2_000;
  const p = options.percentile ?? 99;
  const tail = (1 - (options.coverage ?? 0.9)) / 2;
  const start = Math.min(...small.map((s) => s.at), ...large.map((s) => s.at));
  const blocks = new Map<number, { small: number[]; large: number[] }>();
  for (const [side, values] of [
    ["small", small],
    ["large", large],
  ] as const) {
    for (const v of values) {
      const b = Math.floor((v.at - start) / blockMs);
      let block = blocks.get(b);
      if (!block) {
        block = { small: [], large: [] };
        blocks.set(b, block);
      }
      block[side].push(v.value);
    }
  }
  const list = [...blocks.values()];
  if (small.length === 0 || large.length === 0 || list.length === 0)
    return { low: Number.NaN, high: Number.NaN, blocks: list.length };
  const random = seededRandom(options.seed ?? 11);
  const ratios = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < list.length; i++) {
      const block = list[Math.floor(random() * list.length)] as (typeof list)[number];
      a.push(...block.small);
      b.push(...block.large);
    }
    const pa = percentile(Float64Array.from(a).sort(), p);
    const pb = percentile(Float64Array.from(b).sort(), p);
    ratios[r] = pb / pa;
  }
  const sorted = ratios.filter((x) => Number.isFinite(x)).sort();
  return {
    low: percentile(sorted, tail * 100),
    high: percentile(sorted, (1 - tail) * 100),
    blocks: list.length,
  };
}
