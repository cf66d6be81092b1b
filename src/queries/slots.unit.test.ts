import { describe, expect, test } from "bun:test";
import { createSlots, type Release } from "./slots";

/** Lets pending promise callbacks run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("fallback slots", () => {
  test("without a queue, a caller finding every slot taken gets none at once", async () => {
    const slots = createSlots(2);
    const a = await slots.acquire();
    const b = await slots.acquire();
    expect(a).toBeDefined();
    expect(b).toBeDefined();
    expect(await slots.acquire()).toBeUndefined();
    expect(slots.tryAcquire()).toBeUndefined();
    a?.();
    a?.(); // a second release does nothing
    expect(slots.inUse()).toBe(1);
    expect(await slots.acquire()).toBeDefined();
    expect(slots.inUse()).toBe(2);
  });

  test("queued callers get released slots in order, never more than the bound at once", async () => {
    const slots = createSlots(2, { length: 3, waitMs: 60_000 });
    const held = [await slots.acquire(), await slots.acquire()] as Release[];
    const order: number[] = [];
    const queued = [0, 1, 2].map((i) =>
      slots.acquire().then((release) => {
        order.push(i);
        return release;
      }),
    );
    await settle();
    expect(slots.waiting()).toBe(3);
    // The queue is full: the next caller gets no slot, at once.
    expect(await slots.acquire()).toBeUndefined();
    held[0]?.();
    await settle();
    expect(order).toEqual([0]);
    expect(slots.inUse()).toBe(2);
    held[1]?.();
    (await queued[0])?.();
    await settle();
    expect(order).toEqual([0, 1, 2]);
    expect(slots.inUse()).toBe(2);
    expect(slots.waiting()).toBe(0);
    for (const r of await Promise.all(queued)) r?.();
    expect(slots.inUse()).toBe(0);
  });

  test("a queued caller gives up after waitMs, or when its signal aborts, and leaves the queue", async () => {
    const slots = createSlots(1, { length: 4, waitMs: 20 });
    const held = await slots.acquire();
    expect(await slots.acquire()).toBeUndefined(); // waited 20 ms for nothing
    expect(slots.waiting()).toBe(0);
    const abort = new AbortController();
    const waiting = slots.acquire(abort.signal);
    await settle();
    expect(slots.waiting()).toBe(1);
    abort.abort();
    expect(await waiting).toBeUndefined();
    expect(slots.waiting()).toBe(0);
    // The slot released with nobody waiting is free again.
    held?.();
    expect(slots.inUse()).toBe(0);
    expect(await slots.acquire(AbortSignal.abort())).toBeDefined();
  });

  test("no slots: nobody ever gets one, and nobody waits", async () => {
    const slots = createSlots(0, { length: 4, waitMs: 60_000 });
    expect(await slots.acquire()).toBeUndefined();
    expect(slots.waiting()).toBe(0);
  });
});
