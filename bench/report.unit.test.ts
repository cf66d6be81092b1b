import { describe, expect, test } from "bun:test";
import { formatPeerVerdicts, formatVerdicts, type Results, type Workload } from "./report";
import type { Summary } from "./stats";

const cell = (opsPerSecond: number, p50Ms: number): Summary => ({
  opsPerSecond,
  p50Ms,
  p99Ms: p50Ms,
  errors: 0,
});

function results(): Results {
  return new Map<number, Map<Workload, Summary>>([
    [
      1,
      new Map<Workload, Summary>([
        ["e2e", cell(100, 6)],
        ["echo", cell(2_000, 0.5)],
        ["insert", cell(1_000, 1.5)],
      ]),
    ],
    [
      64,
      new Map<Workload, Summary>([
        ["e2e", cell(800, 80)],
        ["insert", cell(4_000, 16)],
      ]),
    ],
  ]);
}

describe("formatVerdicts", () => {
  test("gives the e2e ratios against the bare baselines", () => {
    expect(formatVerdicts(results())).toContain("e2e ops/s / insert-txn ops/s = 0.20");
  });
});

describe("formatPeerVerdicts", () => {
  const withPeers = (e2eAt64: number, e2eP50At1: number): Results =>
    new Map<number, Map<Workload, Summary>>([
      [
        1,
        new Map<Workload, Summary>([
          ["e2e", cell(100, e2eP50At1)],
          ["emmett-grpc", cell(300, 3)],
        ]),
      ],
      [
        64,
        new Map<Workload, Summary>([
          ["e2e", cell(e2eAt64, 60)],
          ["emmett", cell(1_700, 30)],
          ["emmett-grpc", cell(900, 70)],
        ]),
      ],
    ]);

  test("is left out when no peer ran", () => {
    expect(formatPeerVerdicts(results())).toBeUndefined();
  });

  test("passes each target only when its ratio is on the right side", () => {
    const lines = (formatPeerVerdicts(withPeers(1_800, 2.5)) ?? "").split("\n");
    expect(lines[0]).toContain("= 2.00 (target >= 1.5) PASS");
    expect(lines[1]).toContain("= 1.06 (target >= 1) PASS");
    expect(lines[2]).toContain("= 0.83 (target <= 1) PASS");
    const failing = (formatPeerVerdicts(withPeers(1_200, 4)) ?? "").split("\n");
    expect(failing[0]).toContain("= 1.33 (target >= 1.5) FAIL");
    expect(failing[1]).toContain("= 0.71 (target >= 1) FAIL");
    expect(failing[2]).toContain("= 1.33 (target <= 1) FAIL");
  });
});
