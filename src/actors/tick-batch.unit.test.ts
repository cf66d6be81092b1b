import { describe, expect, test } from "bun:test";
import { createTickBatch } from "./tick-batch";

describe("tick batch", () => {
  test("items added in one turn, microtasks included, are handed over once, together, after it", async () => {
    const flushed: number[][] = [];
    const batch = createTickBatch<number>((items) => flushed.push(items));
    batch.add(1);
    await Promise.resolve();
    batch.add(2);
    await Promise.resolve();
    expect(flushed).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).toEqual([[1, 2]]);
    batch.add(3);
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).toEqual([[1, 2], [3]]);
  });

  test("what the turn's microtasks do (the answers) comes before the hand-over", async () => {
    const order: string[] = [];
    const batch = createTickBatch<number>(() => order.push("flushed"));
    batch.add(1);
    queueMicrotask(() => order.push("answered"));
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(["answered", "flushed"]);
  });

  test("flush hands over at once; the scheduled flush then finds nothing", async () => {
    const flushed: number[][] = [];
    const batch = createTickBatch<number>((items) => flushed.push(items));
    batch.add(1);
    batch.flush();
    expect(flushed).toEqual([[1]]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).toEqual([[1]]);
  });
});
