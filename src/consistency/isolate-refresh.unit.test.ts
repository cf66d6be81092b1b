import { describe, expect, test } from "bun:test";
import type { PublishedEvent } from "../outbox";
import { createCoordinator, type RefreshTask } from "./coordinator";
import { refreshKeyOf } from "./isolate-refresh";

let position = 0;
function profileUpdated(userId: string): PublishedEvent {
  position++;
  return {
    eventId: crypto.randomUUID(),
    type: "user.profile_updated",
    aggregateType: "user",
    aggregateId: userId,
    aggregateVersion: 1,
    position: String(position),
    transactionId: String(1000 + position),
    token: "c1.x",
    committedAt: new Date().toISOString(),
    data: { userId },
    metadata: {},
  };
}

/** A Postgres-like error: a value the column refuses (deterministic). */
function refused(): Error {
  return Object.assign(new Error("invalid byte sequence for encoding UTF8: 0x00"), { code: "22021" });
}

const fast = { baseMs: 1, capMs: 2, maxAttempts: 3, maxTransientAttempts: 50 };

describe("view refresh poison isolation", () => {
  test("a key that fails deterministically is dead-lettered; the other rows are applied and the view moves on", async () => {
    const applied: string[] = [];
    const dead: Array<{ key: string; attempts: number }> = [];
    const c = createCoordinator({
      runRefresh: async (task) => {
        const keys = task.refreshes.flatMap((r) => r.keys);
        if (keys.includes("bad")) throw refused();
        applied.push(...keys);
      },
      deadLetter: async (task, _error, attempts) => {
        dead.push({ key: refreshKeyOf(task), attempts });
      },
      retryPolicy: fast,
      publish: () => {},
    });
    for (const [i, u] of ["a", "bad", "c"].entries()) c.accept(profileUpdated(u), i + 1);
    await c.idle();
    expect(dead).toEqual([{ key: "user_profile_view:user_id:bad", attempts: 1 }]);
    expect(applied.sort()).toEqual(["a", "c"]);
    expect(c.complete().seq).toBe(3);
    // Later events of the view are not held back.
    c.accept(profileUpdated("d"), 4);
    await c.idle();
    expect(applied).toContain("d");
    expect(c.complete().seq).toBe(4);
    await c.stop();
  });

  test("an error of unknown kind is retried with backoff, then isolated after maxAttempts", async () => {
    const calls = new Map<string, number>();
    const dead: string[] = [];
    const c = createCoordinator({
      runRefresh: async (task: RefreshTask) => {
        const keys = task.refreshes.flatMap((r) => r.keys).join(",");
        calls.set(keys, (calls.get(keys) ?? 0) + 1);
        if (keys.includes("bug")) throw new Error("a bug");
      },
      deadLetter: async (task) => {
        dead.push(refreshKeyOf(task));
      },
      retryPolicy: fast,
      publish: () => {},
    });
    c.accept(profileUpdated("bug"), 1);
    c.accept(profileUpdated("ok"), 2);
    await c.idle();
    expect(calls.get("bug,ok")).toBe(3);
    expect(calls.get("bug")).toBe(3);
    expect(calls.get("ok")).toBe(1);
    expect(dead).toEqual(["user_profile_view:user_id:bug"]);
    expect(c.complete().seq).toBe(2);
    await c.stop();
  });

  test("a transient failure is retried (not dead-lettered) until it passes", async () => {
    let failures = 0;
    const dead: string[] = [];
    const c = createCoordinator({
      runRefresh: async () => {
        if (failures < 6) {
          failures++;
          throw Object.assign(new Error("connection refused"), { code: "ECONNREFUSED" });
        }
      },
      deadLetter: async (task) => {
        dead.push(refreshKeyOf(task));
      },
      retryPolicy: fast,
      publish: () => {},
    });
    c.accept(profileUpdated("x"), 1);
    await c.idle();
    expect(failures).toBe(6);
    expect(dead).toEqual([]);
    expect(c.complete().seq).toBe(1);
    await c.stop();
  });
});
