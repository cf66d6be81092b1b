import { describe, expect, test } from "bun:test";
import { ratioInterval, type TimedValue } from "./lag-bootstrap";
import { seededRandom } from "./zipf";

/** `count` samples 50 ms apart, exponential around `meanMs`, times `slowdown` in the blocks it marks slow. */
function samples(count: number, meanMs: number, seed: number, slow = (_at: number) => 1): TimedValue[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const at = i * 50;
    return { at, value: -Math.log(1 - random()) * meanMs * slow(at) };
  });
}

describe("ratioInterval", () => {
  test("covers 1 for two draws of one distribution, and the ratio when one is slower", () => {
    const same = ratioInterval(samples(1_000, 20, 1), samples(1_000, 20, 2));
    expect(same.blocks).toBe(50);
    expect(same.low).toBeLessThan(1);
    expect(same.high).toBeGreaterThan(1);
    const slower = ratioInterval(samples(1_000, 20, 1), samples(1_000, 30, 2));
    expect(slower.low).toBeGreaterThan(1);
    expect(slower.low).toBeLessThan(1.5);
    expect(slower.high).toBeGreaterThan(1.5);
  });

  test("a slow stretch that hits both sides alike widens the interval, not the ratio", () => {
    const slow = (at: number) => (at >= 10_000 && at < 12_000 ? 8 : 1);
    const r = ratioInterval(samples(1_000, 20, 1, slow), samples(1_000, 20, 2, slow));
    expect(r.low).toBeLessThan(1);
    expect(r.high).toBeGreaterThan(1);
  });

  test("NaN bounds without samples", () => {
    const r = ratioInterval([], samples(10, 20, 1));
    expect(Number.isNaN(r.low) && Number.isNaN(r.high)).toBe(true);
  });
});
