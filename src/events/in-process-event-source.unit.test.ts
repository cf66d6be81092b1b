import { describe, expect, test } from "bun:test";
import { createPublishedEvent, type PublishedEvent } from "../outbox";
import { createInProcessEventSource } from "./in-process-event-source";

let position = 0;
function event(type = "user.created"): PublishedEvent {
  position += 1;
  return createPublishedEvent({
    eventId: crypto.randomUUID(),
    type,
    aggregateType: type.split(".")[0] as string,
    aggregateId: crypto.randomUUID(),
    aggregateVersion: 1,
    position: String(position),
    transactionId: "1000",
    committedAt: new Date().toISOString(),
    data: {},
    metadata: {},
  });
}

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(2);
  }
}

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

  test("a failing handler gets the same event again; the events behind it wait", async () => {
    const bus = createInProcessEventSource({ retryMs: 5 });
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
    expect(seen).toEqual([first?.eventId, second?.eventId]);
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
    const bus = createInProcessEventSource({ retryMs: 10_000 });
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
});
