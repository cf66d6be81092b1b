import { describe, expect, test } from "bun:test";
import type { StreamPoint } from "../contracts";
import type { AckedCommand } from "./load";
import type { HealthSample, ProgressSample } from "./observers";
import { measureRecovery, type RecoveryInput, withinTarget } from "./recovery";
import { formatMeasure } from "./report";

const point = (position: number): StreamPoint => ({ transactionId: 100n, position: BigInt(position) });
const ack = (lane: number, ackedAt: number, position: number): AckedCommand => ({
  commandId: `c-${lane}-${ackedAt}`,
  lane,
  seq: ackedAt,
  kind: "turn",
  ackedAt,
  point: point(position),
});
const progress = (at: number, position: number): ProgressSample => ({ at, complete: point(position) });
const health = (n: number, at: number, serving: boolean): HealthSample => ({
  at,
  target: `gateway-${n} grpc`,
  process: `gateway-${n}`,
  serving,
});

const base: RecoveryInput = {
  faultAt: 1_000,
  healAt: 4_000,
  dependencyLost: true,
  killed: undefined,
  lanes: 2,
  acked: [ack(0, 900, 1), ack(0, 4_500, 2), ack(1, 6_500, 3)],
  health: [
    health(0, 900, true),
    health(1, 900, true),
    health(0, 1_300, false),
    health(1, 2_400, false),
    health(0, 4_200, true),
    health(1, 4_300, true),
  ],
  progress: [progress(4_000, 1), progress(4_800, 2), progress(6_600, 3)],
};

describe("measureRecovery", () => {
  test("times from the fault and from the dependency's return, against the targets", () => {
    const r = measureRecovery(base);
    expect(r.firstCommand).toEqual({ ms: 500, targetMs: 2_000 });
    expect(r.allLanes).toEqual({ ms: 2_500, targetMs: 2_000 });
    expect(r.readCaughtUp).toEqual({ ms: 800, targetMs: 2_500 });
    expect(r.readLagMax).toEqual({ ms: 300, targetMs: 2_000 });
    // The slower endpoint decides: 1.4 s to NOT_SERVING, 0.3 s back to SERVING.
    expect(r.healthDown).toEqual({ ms: 1_400, targetMs: 1_000, worst: "gateway-1 grpc" });
    expect(r.healthUp).toEqual({ ms: 300, targetMs: 1_000, worst: "gateway-1 grpc" });
    expect([r.allLanes, r.healthDown, r.healthUp].map(withinTarget)).toEqual([false, false, true]);
  });

  test("a command the read side never applied, and a lane never served again, are 'never'", () => {
    const r = measureRecovery({ ...base, acked: [ack(0, 4_500, 2), ack(0, 5_000, 9)] });
    expect(r.readLagMax.ms).toBeUndefined();
    expect(r.allLanes.ms).toBeUndefined();
    expect(formatMeasure(r.allLanes)).toBe("never >2.0s");
    expect(formatMeasure(r.firstCommand)).toBe("0.5s ok");
  });

  test("a killed role: no health drop expected; the longest NOT_SERVING gap of the other processes counts", () => {
    const r = measureRecovery({
      ...base,
      dependencyLost: false,
      killed: "gateway-1",
      health: [health(0, 1_100, false), health(0, 2_600, true), health(1, 1_100, false)],
    });
    expect(r.healthDown).toBeUndefined();
    expect(r.healthUp).toEqual({ ms: 1_500, targetMs: 1_000, worst: "gateway-0 grpc" });
    expect(formatMeasure(r.healthDown)).toBe("-");
  });

  test("the document probe: its time against 3 s, 'never' when not processed, '-' when no probe ran", () => {
    expect(measureRecovery(base).documentProcessed).toBeUndefined();
    expect(measureRecovery({ ...base, documentProcessedMs: 700 }).documentProcessed).toEqual({
      ms: 700,
      targetMs: 3_000,
    });
    const never = measureRecovery({ ...base, documentProcessedMs: undefined }).documentProcessed;
    expect(formatMeasure(never)).toBe("never >3.0s");
  });
});
