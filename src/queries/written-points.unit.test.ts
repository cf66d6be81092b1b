import { describe, expect, test } from "bun:test";
import { shareReads } from "./written-points";

/** A read whose answers are released by hand: the value is the number of the read (1, 2, ...). */
function manualReads() {
  const pending: Array<(n: number) => void> = [];
  let started = 0;
  return {
    read: () =>
      new Promise<number>((resolve) => {
        const n = ++started;
        pending.push(() => resolve(n));
      }),
    finishNext: () => pending.shift()?.(0),
    started: () => started,
    inFlight: () => pending.length,
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("shareReads", () => {
  test("callers asking during a read share the next one, which starts after that read: never a read begun before they asked", async () => {
    const m = manualReads();
    const shared = shareReads(m.read);
    const first = shared();
    const during = [shared(), shared(), shared()];
    await settle();
    expect(m.started()).toBe(1); // the three wait for the first read to end
    m.finishNext();
    expect(await first).toBe(1);
    await settle();
    expect(m.started()).toBe(2); // ... and then share one read, begun after they asked
    const later = shared(); // asked while the second is in flight: it gets a third
    m.finishNext();
    expect(await Promise.all(during)).toEqual([2, 2, 2]);
    await settle();
    expect(m.inFlight()).toBe(1);
    m.finishNext();
    expect(await later).toBe(3);
    expect(m.started()).toBe(3);
  });

  test("a failed read fails its callers only; the next callers read again", async () => {
    let calls = 0;
    const shared = shareReads(async () => {
      calls++;
      if (calls === 1) throw new Error("down");
      return calls;
    });
    const [a, b] = [shared(), shared()];
    await expect(a).rejects.toThrow("down");
    expect(await b).toBe(2);
    expect(await shared()).toBe(3);
  });
});
