import { describe, expect, test } from "bun:test";
import { createGenerations } from "./generations";

describe("generations", () => {
  test("a load is stale only by invalidations after it started that touch its type and tags", () => {
    const g = createGenerations();
    g.bump(undefined, "user:u1");
    const since = g.current();
    expect(g.staleSince(since, "GetUserProfile", ["user:u1"])).toBe(false);
    g.bump("GetUserStatistics", "user:u1");
    g.bump(undefined, "user:u2");
    expect(g.staleSince(since, "GetUserProfile", ["user:u1"])).toBe(false);
    expect(g.staleSince(since, "GetUserStatistics", ["user:u1"])).toBe(true);
    expect(g.staleSince(since, "GetUserProfile", ["conversation:c1", "user:u2"])).toBe(true);
    // A key of unknown query type is touched by an invalidation of any type.
    expect(g.staleSince(since, undefined, ["user:u1"])).toBe(true);
  });

  test("bumpAll makes every earlier load stale", () => {
    const g = createGenerations();
    const since = g.current();
    g.bumpAll();
    expect(g.staleSince(since, "Q", [])).toBe(true);
    expect(g.staleSince(g.current(), "Q", ["t"])).toBe(false);
  });

  test("pruning keeps what a running load can still be stale by", () => {
    const g = createGenerations();
    g.bump(undefined, "a");
    g.bump("Q", "b");
    const since = g.current();
    g.bump(undefined, "c");
    g.bump("Q", "d");
    expect(g.size()).toBe(4);
    g.prune(since);
    expect(g.size()).toBe(2);
    expect(g.staleSince(since, "Q", ["c"])).toBe(true);
    expect(g.staleSince(since, "Q", ["d"])).toBe(true);
    g.prune(undefined);
    expect(g.size()).toBe(0);
  });
});
