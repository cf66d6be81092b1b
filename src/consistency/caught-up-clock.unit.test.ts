import { describe, expect, test } from "bun:test";
import { createCaughtUpClock } from "./caught-up-clock";

describe("caught-up clock", () => {
  test("idle: now; busy: the commit time of the oldest event not yet applied", () => {
    const clock = createCaughtUpClock();
    expect(clock.caughtUpAt(0, true, 5_000)).toBe(5_000);
    clock.accepted(1, 1_000);
    clock.accepted(2, 1_100);
    clock.accepted(3, 1_200);
    expect(clock.caughtUpAt(0, false, 5_000)).toBe(1_000);
    expect(clock.caughtUpAt(2, false, 5_000)).toBe(1_200);
    // Everything received is applied but the stream holds more: the last applied event's time.
    expect(clock.caughtUpAt(3, false, 5_000)).toBe(1_200);
    expect(clock.caughtUpAt(3, true, 6_000)).toBe(6_000);
  });

  test("bounded: past its capacity it reports the last applied time until the unrecorded events are applied", () => {
    const clock = createCaughtUpClock(2);
    for (let seq = 1; seq <= 5; seq++) clock.accepted(seq, seq * 100);
    expect(clock.caughtUpAt(0, false, 9_000)).toBe(100);
    expect(clock.caughtUpAt(2, false, 9_000)).toBe(200);
    // 3..5 were not recorded: never fresher than the last applied recorded one.
    expect(clock.caughtUpAt(4, false, 9_000)).toBe(200);
    clock.accepted(6, 600); // 3..5 may still wait: not recorded either
    expect(clock.caughtUpAt(4, false, 9_000)).toBe(200);
    expect(clock.caughtUpAt(6, false, 9_000)).toBe(200);
    clock.accepted(7, 700);
    expect(clock.caughtUpAt(6, false, 9_000)).toBe(700);
  });

  test("a long run keeps its memory bounded", () => {
    const clock = createCaughtUpClock(8);
    for (let seq = 1; seq <= 100_000; seq++) {
      clock.accepted(seq, seq);
      expect(clock.caughtUpAt(seq - 1, false, 0)).toBe(seq);
    }
  });
});
