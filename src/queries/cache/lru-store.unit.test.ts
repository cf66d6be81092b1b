import { describe, expect, test } from "bun:test";
import { createLruStore, type StoredEntry } from "./lru-store";

const entry = (key: string, tags: string[], size: number, loadId = 1): StoredEntry<string> => ({
  key,
  queryType: "Q",
  tags,
  value: `${key}@${loadId}`,
  storedAt: 0,
  size,
  loadId,
});

describe("LRU store", () => {
  test("a key stored again keeps its tag index when its tags are the same, and moves it when they differ", () => {
    const store = createLruStore<string>(10, 1_000);
    store.set(entry("k", ["a"], 10));
    store.set(entry("other", ["a"], 5));
    store.set(entry("k", ["a"], 30, 2));
    expect(store.keysTagged("a").sort()).toEqual(["k", "other"]);
    expect(store.peek("k")?.value).toBe("k@2");
    expect(store.bytes).toBe(35);
    expect([...store.entries()].map((e) => e.key)).toEqual(["other", "k"]); // the most recent last
    store.set(entry("k", ["b"], 20, 3));
    expect(store.keysTagged("a")).toEqual(["other"]);
    expect(store.keysTagged("b")).toEqual(["k"]);
    expect(store.bytes).toBe(25);
    store.delete("k");
    expect(store.keysTagged("b")).toEqual([]);
    expect(store.count).toBe(1);
  });

  test("stored again too large for the byte bound: the key and its tags are gone", () => {
    const store = createLruStore<string>(10, 100);
    store.set(entry("k", ["a"], 10));
    expect(store.set(entry("k", ["a"], 101, 2))).toBe(0);
    expect(store.peek("k")).toBeUndefined();
    expect(store.keysTagged("a")).toEqual([]);
    expect(store.bytes).toBe(0);
  });

  test("stored again at the entry bound: others are evicted, never the key itself", () => {
    const store = createLruStore<string>(2, 1_000);
    store.set(entry("old", ["x"], 1));
    store.set(entry("k", ["a"], 1));
    store.set(entry("k", ["a"], 1, 2));
    expect(store.count).toBe(2);
    store.set(entry("new", ["y"], 1));
    expect(store.peek("old")).toBeUndefined();
    expect(store.keysTagged("x")).toEqual([]);
    expect(store.keysTagged("a")).toEqual(["k"]);
  });
});
