import { describe, expect, test } from "bun:test";
import { createMailboxes } from "./mailboxes";

interface Item {
  readonly aggregateId: string;
  readonly n: number;
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("mailboxes", () => {
  test("while a batch runs, the next starts only once minBatchWhileBusy aggregates are ready", async () => {
    const gates: Array<ReturnType<typeof deferred>> = [];
    const batches: number[][] = [];
    const boxes = createMailboxes<Item, number>({
      maxBatch: 8,
      maxConcurrentBatches: 2,
      minBatchWhileBusy: 3,
      runBatch: async (items) => {
        batches.push(items.map((i) => i.n));
        const gate = deferred();
        gates.push(gate);
        await gate.promise;
        return items.map((i) => i.n);
      },
    });
    const first = boxes.submit({ aggregateId: "a", n: 1 });
    await Bun.sleep(0);
    // Idle: the lone command started at once.
    expect(batches).toEqual([[1]]);
    const waiting = [boxes.submit({ aggregateId: "b", n: 2 }), boxes.submit({ aggregateId: "c", n: 3 })];
    await Bun.sleep(0);
    // Busy and only two ready: they wait for the running batch.
    expect(batches).toEqual([[1]]);
    const more = [boxes.submit({ aggregateId: "d", n: 4 })];
    await Bun.sleep(0);
    // Three ready: a second batch starts beside the first.
    expect(batches).toEqual([[1], [2, 3, 4]]);
    for (const g of gates) g.resolve();
    expect(await Promise.all([first, ...waiting, ...more])).toEqual([1, 2, 3, 4]);
  });

  test("a batch that finishes starts the waiting ones even below minBatchWhileBusy", async () => {
    const batches: number[][] = [];
    const gate = deferred();
    const boxes = createMailboxes<Item, number>({
      maxBatch: 8,
      maxConcurrentBatches: 2,
      minBatchWhileBusy: 10,
      runBatch: async (items) => {
        batches.push(items.map((i) => i.n));
        if (items[0]?.n === 1) await gate.promise;
        return items.map((i) => i.n);
      },
    });
    const all = [boxes.submit({ aggregateId: "a", n: 1 })];
    await Bun.sleep(0);
    all.push(boxes.submit({ aggregateId: "b", n: 2 }), boxes.submit({ aggregateId: "c", n: 3 }));
    await Bun.sleep(0);
    expect(batches).toEqual([[1]]);
    gate.resolve();
    expect(await Promise.all(all)).toEqual([1, 2, 3]);
    expect(batches).toEqual([[1], [2, 3]]);
  });

  test("one aggregate's items run one at a time, in submission order", async () => {
    const log: string[] = [];
    let active = 0;
    let maxActive = 0;
    const boxes = createMailboxes<Item, number>({
      maxBatch: 8,
      maxConcurrentBatches: 4,
      runBatch: async (items) => {
        for (const i of items) {
          active++;
          maxActive = Math.max(maxActive, active);
          log.push(`start ${i.n}`);
        }
        await Bun.sleep(1);
        for (const i of items) {
          active--;
          log.push(`end ${i.n}`);
        }
        return items.map((i) => i.n * 10);
      },
    });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, n) => boxes.submit({ aggregateId: "a", n })),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, n) => n * 10));
    expect(maxActive).toBe(1);
    expect(log).toEqual(Array.from({ length: 20 }, (_, n) => [`start ${n}`, `end ${n}`]).flat());
  });

  test("different aggregates share batches and run in parallel", async () => {
    const gate = deferred();
    const batches: string[][] = [];
    const boxes = createMailboxes<Item, string>({
      maxBatch: 3,
      maxConcurrentBatches: 2,
      runBatch: async (items) => {
        batches.push(items.map((i) => i.aggregateId));
        await gate.promise;
        return items.map((i) => `${i.aggregateId}${i.n}`);
      },
    });
    const all = ["a", "b", "c", "d", "e", "f", "g"].map((id) => boxes.submit({ aggregateId: id, n: 1 }));
    await Bun.sleep(5);
    // Two batches of three run at once; the seventh waits for a free slot.
    expect(batches).toEqual([
      ["a", "b", "c"],
      ["d", "e", "f"],
    ]);
    gate.resolve();
    expect(await Promise.all(all)).toEqual(["a1", "b1", "c1", "d1", "e1", "f1", "g1"]);
    expect(batches[2]).toEqual(["g"]);
  });

  test("a batch never holds two items of one aggregate", async () => {
    const seen: string[][] = [];
    const boxes = createMailboxes<Item, number>({
      maxBatch: 100,
      maxConcurrentBatches: 1,
      runBatch: async (items) => {
        seen.push(items.map((i) => i.aggregateId));
        return items.map((i) => i.n);
      },
    });
    const items = Array.from({ length: 30 }, (_, n) => ({ aggregateId: `x${n % 3}`, n }));
    await Promise.all(items.map((i) => boxes.submit(i)));
    for (const batch of seen) expect(new Set(batch).size).toBe(batch.length);
    expect(seen.flat().length).toBe(30);
  });

  test("a failed batch rejects its items and the mailbox goes on", async () => {
    let calls = 0;
    const boxes = createMailboxes<Item, number>({
      maxBatch: 1,
      maxConcurrentBatches: 1,
      runBatch: async (items) => {
        calls++;
        if (calls === 1) throw new Error("boom");
        return items.map((i) => i.n);
      },
    });
    const first = boxes.submit({ aggregateId: "a", n: 1 });
    const second = boxes.submit({ aggregateId: "a", n: 2 });
    await expect(first).rejects.toThrow("boom");
    expect(await second).toBe(2);
    await boxes.idle();
    expect(boxes.size()).toBe(0);
  });
});
