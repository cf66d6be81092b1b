import { describe, expect, test } from "bun:test";
import type { CpuSample } from "./cpu-meter";
import {
  type CpuByWorkload,
  formatCpuBudget,
  formatFloor,
  formatPeerVerdicts,
  formatVerdicts,
  type Results,
  type Workload,
} from "./report";
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
    expect(below).toContain("(floor p50 + insert p50) / (echo p50 + insert p50) = 1.75");
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

describe("formatCpuBudget", () => {
  const sample = (byProcess: Record<string, number>): CpuSample => ({
    byProcess: new Map(Object.entries(byProcess)),
    backends: new Map(),
    machineBusyMs: 0,
    wallMs: 1000,
  });
  /** At 64: 1,000 floor ops and 1,000 inserts (and 1,000 bare publishes) with the given CPU totals (ms). */
  const cpu = (floorMs: number, insertPostgresMs: number, publishMs?: number): CpuByWorkload =>
    new Map([
      [
        64,
        new Map<Workload, { sample: CpuSample; ops: number }>([
          [
            "floor",
            {
              // The idle roles and database during the floor's slices are not its cost.
              sample: sample({
                "floor server": floorMs / 2,
                "nats-server": floorMs / 2,
                gateway: 50,
                postgres: 80,
              }),
              ops: 1000,
            },
          ],
          ["insert", { sample: sample({ "bench client": 100, postgres: insertPostgresMs }), ops: 1000 }],
          ...(publishMs === undefined
            ? []
            : [
                [
                  "js-publish",
                  {
                    sample: sample({
                      "bench client": publishMs / 2,
                      "nats-server": publishMs / 2,
                      worker: 30,
                    }),
                    ops: 1000,
                  },
                ] as const,
              ]),
        ]),
      ],
    ]);

  test("sets the floor's CPU plus the insert's Postgres CPU against what the target's rate leaves per command", () => {
    // Target rate 0.5 × 4,000/s = 2,000/s: 2 cores leave 1 ms per command.
    const over = formatCpuBudget(results(1_600), cpu(900, 150), 2);
    expect(over).toContain("leaves 1.000 ms of CPU per command on 2 cores");
    expect(over).toContain(
      "messaging floor (0.900 ms) and the bare insert's Postgres work (0.150 ms) take 1.050 ms",
    );
    expect(over).toContain("would have to fit in 0.100 ms per command, 67% of one insert");
    expect(formatCpuBudget(results(1_600), cpu(700, 150), 2)).toContain(
      "0.150 ms left per command for the worker",
    );
    expect(formatCpuBudget(results(1_600), cpu(900, 150), 4)).toContain("0.950 ms left per command");
  });

  test("counts the relay's event publish as a bare JetStream publish, in its own processes", () => {
    const line = formatCpuBudget(results(1_600), cpu(700, 150, 200), 2);
    expect(line).toContain("messaging floor (0.700 ms) plus the relay's event publish (0.200 ms)");
    expect(line).toContain("take 1.050 ms; over the budget");
    expect(formatCpuBudget(results(1_600), cpu(900, 150, 100), 2)).toContain(
      "the messaging alone is over the budget: out of reach here, whatever the database work costs",
    );
  });

  test("is left out without the floor's CPU", () => {
    expect(formatCpuBudget(results(1_600), new Map(), 2)).toBeUndefined();
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
    expect(formatPeerVerdicts(results(400))).toBeUndefined();
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
