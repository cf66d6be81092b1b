import { describe, expect, test } from "bun:test";
import { formatFloor, formatVerdicts, type Results, type Workload } from "./report";
import type { Summary } from "./stats";

const cell = (opsPerSecond: number, p50Ms: number): Summary => ({
  opsPerSecond,
  p50Ms,
  p99Ms: p50Ms,
  errors: 0,
});

function results(floorAt64: number): Results {
  return new Map<number, Map<Workload, Summary>>([
    [
      1,
      new Map<Workload, Summary>([
        ["e2e", cell(100, 6)],
        ["echo", cell(2_000, 0.5)],
        ["insert", cell(1_000, 1.5)],
        ["floor", cell(400, 2)],
      ]),
    ],
    [
      64,
      new Map<Workload, Summary>([
        ["e2e", cell(800, 80)],
        ["insert", cell(4_000, 16)],
        ["floor", cell(floorAt64, 40)],
      ]),
    ],
  ]);
}

describe("formatFloor", () => {
  test("gives the floor's ratios in the targets' terms, and whether the throughput target is in reach", () => {
    const below = formatFloor(results(1_600));
    expect(below).toContain("messaging floor @64: floor ops/s / insert-txn ops/s = 0.40");
    expect(below).toContain("below the target of 0.5");
    expect(below).toContain("messaging floor @1: floor p50 / (echo p50 + insert p50) = 1.00");
    expect(formatFloor(results(2_400))).toContain("above the target of 0.5");
    expect(formatFloor(results(1_960))).toContain("within 10% of the target of 0.5, too close to call");
  });

  test("is left out when the floor did not run, and the targets' lines do not change with it", () => {
    const without = results(1_600);
    for (const row of without.values()) row.delete("floor");
    expect(formatFloor(without)).toBeUndefined();
    expect(formatVerdicts(without)).toBe(formatVerdicts(results(1_600)));
    expect(formatVerdicts(without)).toContain("e2e ops/s / insert-txn ops/s = 0.20");
  });
});
