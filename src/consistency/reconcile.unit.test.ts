import { describe, expect, test } from "bun:test";
import { createRateMeter } from "./reconcile";

describe("the event rate meter of reconciliation", () => {
  test("averages the events of the last window and forgets older seconds", () => {
    const meter = createRateMeter(5);
    const t0 = 1_000_000;
    for (let i = 0; i < 50; i++) meter.record(t0 + i * 20); // 50 events within one second
    expect(meter.rate(t0 + 999)).toBe(10);
    for (let i = 0; i < 25; i++) meter.record(t0 + 2_000 + i);
    expect(meter.rate(t0 + 2_500)).toBe(15);
    // Five seconds later the first second has left the window, seven later both.
    expect(meter.rate(t0 + 5_500)).toBe(5);
    expect(meter.rate(t0 + 7_500)).toBe(0);
    // A slot reused by a later second starts from zero.
    meter.record(t0 + 10_000);
    expect(meter.rate(t0 + 10_000)).toBe(0.2);
  });
});
