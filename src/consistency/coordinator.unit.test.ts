import { describe, expect, test } from "bun:test";
import type { PublishedEvent } from "../outbox";
import { type ConsistencyUpdate, createCoordinator, type RefreshTask } from "./coordinator";

let position = 0;
function event(type: string, data: Record<string, unknown>): PublishedEvent {
  position++;
  return {
    eventId: crypto.randomUUID(),
    type,
    aggregateType: type.split(".")[0] as string,
    aggregateId: crypto.randomUUID(),
    aggregateVersion: 1,
    position: String(position),
    transactionId: String(1000 + position),
    token: "c1.x",
    committedAt: new Date().toISOString(),
    data,
    metadata: {},
  };
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("consistency coordinator", () => {
  test("coalesces the keys of many events per view into one refresh", async () => {
    const tasks: RefreshTask[] = [];
    const c = createCoordinator({ runRefresh: async (t) => void tasks.push(t), publish: () => {} });
    let seq = 0;
    for (const u of ["u1", "u2", "u1"]) c.accept(event("user.profile_updated", { userId: u }), ++seq);
    await c.idle();
    expect(tasks).toHaveLength(1);
    expect(tasks[0]?.view).toBe("user_profile_view");
    expect(tasks[0]?.refreshes).toEqual([{ column: "user_id", keys: ["u1", "u2"] }]);
    expect(c.complete().seq).toBe(3);
    await c.stop();
  });

  test("one task in flight per view; later events wait for the next one", async () => {
    const gate = deferred();
    const tasks: RefreshTask[] = [];
    const c = createCoordinator({
      runRefresh: async (t) => {
        tasks.push(t);
        if (tasks.length === 1) await gate.promise;
      },
      publish: () => {},
    });
    c.accept(event("user.profile_updated", { userId: "a" }), 1);
    await Bun.sleep(20);
    c.accept(event("user.profile_updated", { userId: "b" }), 2);
    c.accept(event("user.profile_updated", { userId: "c" }), 3);
    await Bun.sleep(20);
    expect(tasks).toHaveLength(1);
    gate.resolve();
    await c.idle();
    expect(tasks.map((t) => t.refreshes[0]?.keys)).toEqual([["a"], ["b", "c"]]);
    await c.stop();
  });

  test("complete advances only when every view has applied every earlier event", async () => {
    const slow = deferred();
    const updates: ConsistencyUpdate[] = [];
    const c = createCoordinator({
      runRefresh: async (t) => {
        if (t.view === "user_statistics_view") await slow.promise;
      },
      publish: (u) => updates.push(u),
    });
    // user.created touches the profile and the statistics; profile_updated only the profile.
    c.accept(event("user.created", { userId: "u" }), 1);
    c.accept(event("user.profile_updated", { userId: "u" }), 2);
    await Bun.sleep(30);
    expect(c.complete().seq).toBe(0);
    slow.resolve();
    await c.idle();
    expect(c.complete().seq).toBe(2);
    expect(updates.at(-1)?.completeSeq).toBe(2);
    await c.stop();
  });

  test("invalidations are published after the view they depend on has been refreshed", async () => {
    const order: string[] = [];
    const c = createCoordinator({
      runRefresh: async (t) => void order.push(`refresh ${t.view}`),
      publish: (u) => {
        for (const i of u.invalidations) order.push(`invalidate ${i.queryType} ${i.tag}`);
      },
    });
    c.accept(
      event("conversation.turn_recorded", {
        conversationId: "c",
        userId: "u",
        voiceModelId: null,
        faceModelId: null,
      }),
      1,
    );
    await c.idle();
    const refreshConv = order.indexOf("refresh conversation_session_summary_view");
    const invalidateHistory = order.indexOf("invalidate GetConversationHistory conversation:c");
    expect(refreshConv).toBeGreaterThanOrEqual(0);
    expect(invalidateHistory).toBeGreaterThan(refreshConv);
    expect(order.indexOf("invalidate GetUserStatistics user:u")).toBeGreaterThan(
      order.indexOf("refresh user_statistics_view"),
    );
    await c.stop();
  });

  test("a failed refresh is retried and nothing is marked complete before it succeeds", async () => {
    let attempts = 0;
    const c = createCoordinator({
      runRefresh: async () => {
        if (++attempts < 3) throw new Error("db down");
      },
      publish: () => {},
      retryMs: 5,
    });
    c.accept(event("user.profile_updated", { userId: "u" }), 1);
    await c.idle();
    expect(attempts).toBe(3);
    expect(c.complete().seq).toBe(1);
    await c.stop();
  });

  test("events no view needs move the stored checkpoint too, one write at a time, ending at the latest", async () => {
    const writes: number[] = [];
    let running = 0;
    let overlapped = false;
    const c = createCoordinator({
      runRefresh: async () => {},
      publish: () => {},
      checkpoint: async (seq) => {
        running++;
        if (running > 1) overlapped = true;
        await Bun.sleep(10);
        writes.push(seq);
        running--;
      },
    });
    for (let seq = 1; seq <= 5; seq++) c.accept(event("no_rule.happened", {}), seq);
    await Bun.sleep(100);
    expect(overlapped).toBe(false);
    expect(writes.at(-1)).toBe(5);
    expect(writes.length).toBeLessThan(5);
    await c.stop();
  });
});
