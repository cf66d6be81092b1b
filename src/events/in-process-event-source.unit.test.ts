import { describe, expect, test } from "bun:test";
import type { StreamPoint } from "../contracts";
import { type PublishedEvent, pointOfPublishedEvent } from "../outbox";
import type { CursorStore } from "./durable-cursors";
import { testEvent, until } from "./events.testkit";
import { createInProcessEventSource } from "./in-process-event-source";

const fastRetries = { baseMs: 5, capMs: 5, maxAttempts: 5, maxTransientAttempts: 100 };
const event = testEvent;

describe("in-process event source", () => {
  test("delivers in publish order, one at a time, and publishing does not wait for handlers", async () => {
    const bus = createInProcessEventSource();
    const seen: string[] = [];
    let active = 0;
    let maxActive = 0;
    const sub = await bus.subscribe("order", [], async (e) => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      await Bun.sleep(1);
      seen.push(e.position);
      active -= 1;
    });
    const batch = Array.from({ length: 20 }, () => event());
    const result = await bus.publish(batch.slice(0, 10));
    expect(result.published).toHaveLength(10);
    expect(result.error).toBeUndefined();
    expect(seen.length).toBeLessThan(10);
    await bus.publish(batch.slice(10));
    await bus.idle();
    expect(seen).toEqual(batch.map((e) => e.position));
    expect(maxActive).toBe(1);
    await sub.stop();
  });

  test("a failing handler gets the same event again, in its own lane: the events behind it go on", async () => {
    const bus = createInProcessEventSource({ retryPolicy: fastRetries });
    const seen: string[] = [];
    let failures = 0;
    const [first, second] = [event(), event()];
    const sub = await bus.subscribe("retry", [], async (e) => {
      if (e.eventId === first?.eventId && failures < 3) {
        failures += 1;
        throw new Error("not yet");
      }
      seen.push(e.eventId);
    });
    await bus.publish([first as PublishedEvent, second as PublishedEvent]);
    await bus.idle();
    expect(failures).toBe(3);
    expect(seen).toEqual([second?.eventId, first?.eventId]);
    await sub.stop();
  });

  test("only the subscribed types reach the handler; a name resumes where it stopped", async () => {
    const bus = createInProcessEventSource();
    const seen: string[] = [];
    const handler = async (e: PublishedEvent) => {
      seen.push(e.position);
    };
    const first = [event("user.created"), event("document.uploaded")];
    let sub = await bus.subscribe("docs", ["document.uploaded"], handler);
    await bus.publish(first);
    await bus.idle();
    await sub.stop();
    const later = [event("document.uploaded"), event("document.deleted"), event("document.uploaded")];
    await bus.publish(later);
    await Bun.sleep(5);
    expect(seen).toEqual([first[1]!.position]);
    sub = await bus.subscribe("docs", ["document.uploaded"], handler);
    await bus.idle();
    expect(seen).toEqual([first[1]!.position, later[0]!.position, later[2]!.position]);
    await sub.stop();
  });

  test("a name cannot run twice at once; concurrency lets several events run at a time", async () => {
    const bus = createInProcessEventSource();
    let active = 0;
    let maxActive = 0;
    const sub = await bus.subscribe(
      "wide",
      [],
      async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        await Bun.sleep(5);
        active -= 1;
      },
      { concurrency: 4 },
    );
    await expect(bus.subscribe("wide", [], async () => {})).rejects.toThrow(/already running/);
    await bus.publish(Array.from({ length: 12 }, () => event()));
    await until(() => maxActive === 4);
    await bus.idle();
    await sub.stop();
  });

  test("stop waits for the handler in flight and leaves the unfinished event for the next subscriber", async () => {
    const bus = createInProcessEventSource({
      retryPolicy: { ...fastRetries, baseMs: 10_000, capMs: 10_000 },
    });
    const e = event();
    let calls = 0;
    const sub = await bus.subscribe("stopper", [], async () => {
      calls += 1;
      throw new Error("always");
    });
    await bus.publish([e]);
    await until(() => calls === 1);
    const started = Date.now();
    await sub.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    const again: string[] = [];
    const resumed = await bus.subscribe("stopper", [], async (x) => {
      again.push(x.eventId);
    });
    await bus.idle();
    expect(again).toEqual([e.eventId]);
    await resumed.stop();
  });

  test("a poisoned event is dead-lettered (at once when deterministic) and never holds the others back", async () => {
    const bus = createInProcessEventSource({ retryPolicy: fastRetries });
    const poisoned = [event(), event()];
    const poisonIds = new Set(poisoned.map((e) => e.eventId));
    const calls = new Map<string, number>();
    const dead: Array<{ id: string; attempts: number }> = [];
    const seen: string[] = [];
    const sub = await bus.subscribe(
      "poison",
      [],
      async (e) => {
        calls.set(e.eventId, (calls.get(e.eventId) ?? 0) + 1);
        if (e.eventId === poisoned[0]?.eventId) throw new SyntaxError("cannot decode");
        if (e.eventId === poisoned[1]?.eventId) throw new Error("a bug");
        seen.push(e.eventId);
      },
      {
        deadLetter: async (e, _error, attempts) => {
          dead.push({ id: e.eventId, attempts });
        },
      },
    );
    const normal = Array.from({ length: 5 }, () => event());
    await bus.publish([...poisoned, ...normal]);
    await bus.idle();
    expect(seen).toEqual(normal.map((e) => e.eventId));
    expect(dead).toEqual([
      { id: poisoned[0]?.eventId as string, attempts: 1 },
      { id: poisoned[1]?.eventId as string, attempts: 5 },
    ]);
    expect(calls.get(poisoned[0]?.eventId as string)).toBe(1);
    expect(calls.get(poisoned[1]?.eventId as string)).toBe(5);
    expect([...calls.keys()].filter((id) => !poisonIds.has(id))).toHaveLength(5);
    await sub.stop();
  });

  test("a durable subscription skips, after a restart, the events its saved cursor covers", async () => {
    const saved = new Map<string, StreamPoint>();
    const store: CursorStore = {
      load: async (name) => saved.get(name),
      save: async (name, point) => {
        saved.set(name, point);
      },
    };
    const log = Array.from({ length: 6 }, () => event());
    const first = createInProcessEventSource({ cursors: { store, names: ["durable"] }, cursorSaveMs: 1 });
    const handled: string[] = [];
    let sub = await first.subscribe("durable", [], async (e) => {
      handled.push(e.eventId);
    });
    await first.publish(log.slice(0, 4));
    await first.idle();
    await sub.stop();
    expect(saved.get("durable")).toEqual(pointOfPublishedEvent(log[3] as PublishedEvent));
    // A new process: the outbox's events are put on the bus again; only those after the cursor are handled.
    const second = createInProcessEventSource({ cursors: { store, names: ["durable"] } });
    const again: string[] = [];
    sub = await second.subscribe("durable", [], async (e) => {
      again.push(e.eventId);
    });
    await second.publish(log);
    await second.idle();
    expect(handled).toEqual(log.slice(0, 4).map((e) => e.eventId));
    expect(again).toEqual(log.slice(4).map((e) => e.eventId));
    await sub.stop();
  });
});
