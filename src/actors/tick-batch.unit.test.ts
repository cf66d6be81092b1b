import { describe, expect, test } from "bun:test";
import { createTickBatch } from "./tick-batch";

describe("tick batch", () => {
  test("items added in one synchronous run are handed over once, together, at its end", async () => {
    const flushed: number[][] = [];
    const batch = createTickBatch<number>((items) => flushed.push(items));
    batch.add(1);
    batch.add(2);
    expect(flushed).toEqual([]);
    await Promise.resolve();
    expect(flushed).toEqual([[1, 2]]);
    batch.add(3);
    await Promise.resolve();
    expect(flushed).toEqual([[1, 2], [3]]);
  });

  test("flush hands over at once; the scheduled flush then finds nothing", async () => {
    const flushed: number[][] = [];
    const batch = createTickBatch<number>((items) => flushed.push(items));
    batch.add(1);
    batch.flush();
    expect(flushed).toEqual([[1]]);
    await Promise.resolve();
    expect(flushed).toEqual([[1]]);
  });
});
