import { describe, expect, test } from "bun:test";
import { backoffMs, createWakeSignal } from "./wake-signal";

async function elapsed(run: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

describe("wake signal", () => {
  test("wake ends a nap early, and a wake while busy ends the next nap at once", async () => {
    const signal = createWakeSignal();
    setTimeout(() => signal.wake(), 20);
    expect(await elapsed(() => signal.nap(5_000))).toBeLessThan(1_000);

    signal.wake();
    expect(await elapsed(() => signal.nap(5_000))).toBeLessThan(50);
  });

  test("takeWake reports a wake that came while busy once, and the nap after it sleeps", async () => {
    const signal = createWakeSignal();
    expect(signal.takeWake()).toBe(false);
    signal.wake();
    expect(signal.takeWake()).toBe(true);
    expect(signal.takeWake()).toBe(false);
    expect(await elapsed(() => signal.nap(100))).toBeGreaterThanOrEqual(90);
    signal.stop();
    expect(signal.takeWake()).toBe(true);
  });

  test("wake does not cut a backoff pause short; stop ends every wait", async () => {
    const signal = createWakeSignal();
    signal.wake();
    expect(await elapsed(() => signal.pause(100))).toBeGreaterThanOrEqual(90);

    const pausing = elapsed(() => signal.pause(5_000));
    const napping = elapsed(() => signal.nap(5_000));
    signal.stop();
    expect(await pausing).toBeLessThan(1_000);
    expect(await napping).toBeLessThan(1_000);
    expect(await elapsed(() => signal.nap(5_000))).toBeLessThan(50);
  });

  test("with a wake delay, a wake right after a round ends the nap that long after it began; later, at once", async () => {
    const signal = createWakeSignal(40);
    const napping = elapsed(() => signal.nap(5_000));
    signal.wake(); // the nap has just begun: the relay has just finished a round
    setTimeout(() => signal.wake(), 10); // within the delay: adds nothing
    const took = await napping;
    expect(took).toBeGreaterThanOrEqual(35);
    expect(took).toBeLessThan(1_000);
    expect(await elapsed(() => signal.nap(100))).toBeGreaterThanOrEqual(90); // no wake left over

    // Napping for longer than the delay (the relay was idle): a wake ends the nap at once.
    const idle = elapsed(() => signal.nap(5_000));
    await Bun.sleep(80);
    const woken = performance.now();
    signal.wake();
    await idle;
    expect(performance.now() - woken).toBeLessThan(30);
  });

  test("backoff doubles from 100 ms up to its cap", () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n))).toEqual([100, 200, 400, 800]);
    expect(backoffMs(50)).toBe(30_000);
    expect(backoffMs(50, 5_000)).toBe(5_000);
  });
});
