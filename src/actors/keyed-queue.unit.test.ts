import { describe, expect, test } from "bun:test";
import { createKeyedQueue } from "./keyed-queue";

describe("keyed queue", () => {
  test("operations on one key run one after another, in order, even after a failure; other keys in parallel", async () => {
    const queue = createKeyedQueue<number>();
    const log: string[] = [];
    const step =
      (name: string, ms: number, fail = false) =>
      async () => {
        log.push(`${name} start`);
        await Bun.sleep(ms);
        log.push(`${name} end`);
        if (fail) throw new Error(name);
      };
    const a1 = queue.run(1, step("a1", 30, true));
    const a2 = queue.run(1, step("a2", 1));
    const b1 = queue.run(2, step("b1", 5));
    await expect(a1).rejects.toThrow("a1");
    await Promise.all([a2, b1]);
    expect(log.indexOf("a1 end")).toBeLessThan(log.indexOf("a2 start"));
    expect(log.indexOf("b1 end")).toBeLessThan(log.indexOf("a1 end"));
  });

  test("idle waits for everything queued so far", async () => {
    const queue = createKeyedQueue<string>();
    let done = 0;
    void queue.run("x", async () => {
      await Bun.sleep(20);
      done++;
    });
    void queue
      .run("y", async () => {
        await Bun.sleep(10);
        done++;
        throw new Error("y");
      })
      .catch(() => {});
    await queue.idle();
    expect(done).toBe(2);
  });
});
