import { describe, expect, test } from "bun:test";
import { LruMap } from "./lru-map";

describe("LruMap", () => {
  test("keeps the max most recently used entries; get and set both count as use", () => {
    const m = new LruMap<string, number>(2);
    m.set("a", 1).set("b", 2);
    expect(m.get("a")).toBe(1); // a is now the most recent
    m.set("c", 3); // drops b, the least recently used
    expect([...m.keys()]).toEqual(["a", "c"]);
    m.set("a", 10); // a re-set: most recent again
    m.set("d", 4); // drops c
    expect([...m.entries()]).toEqual([
      ["a", 10],
      ["d", 4],
    ]);
    expect(m.get("missing")).toBeUndefined();
  });

  test("a bound of 0 keeps nothing", () => {
    const m = new LruMap<string, number>(0);
    m.set("a", 1);
    expect(m.size).toBe(0);
  });
});
