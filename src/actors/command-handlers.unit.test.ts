import { describe, expect, test } from "bun:test";
import pino from "pino";
import type { CommandEnvelope, CommandOutcome } from "../contracts";
import { AppError } from "../errors";
import { logged, wakeRelayAfterEvents } from "./command-handlers";

const envelope = {
  commandId: "cmd-1",
  commandType: "CreateUser",
  aggregateType: "user",
  aggregateId: "agg-1",
  payloadHash: "h",
  payload: {},
  actor: { sub: "s", role: "admin" },
  issuedAt: 0,
} as CommandEnvelope;

const ok: CommandOutcome = {
  ok: true,
  result: {
    commandId: "cmd-1",
    aggregateId: "agg-1",
    version: 1,
    events: ["user.created"],
    position: "",
    duplicate: false,
  },
};

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

describe("worker command logging", () => {
  test("every command is logged as JSON with its command id and aggregate id", async () => {
    const { log, lines } = capture("debug");
    await logged(log, async () => ok)(envelope);
    expect(lines[0]).toMatchObject({
      msg: "command applied",
      commandId: "cmd-1",
      aggregateId: "agg-1",
      level: 20,
    });
  });

  test("a failure that is not a rule's answer is a warning", async () => {
    const { log, lines } = capture("info");
    const failed: CommandOutcome = { ok: false, error: new AppError("INTERNAL", "boom").serialize() };
    await logged(log, async () => ok)(envelope);
    await logged(log, async () => failed)(envelope);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: "command failed",
      code: "INTERNAL",
      commandId: "cmd-1",
      aggregateId: "agg-1",
    });
  });
});

describe("relay wake", () => {
  test("commands that wrote events wake the relay once per tick; duplicates and no-ops do not", async () => {
    let wakes = 0;
    const handler = wakeRelayAfterEvents(
      async (e) => (e.commandId === "noop" ? { ...ok, result: { ...ok.result, events: [] } } : ok),
      () => wakes++,
    );
    await Promise.all([handler(envelope), handler(envelope), handler(envelope)]);
    await Bun.sleep(0);
    expect(wakes).toBe(1);
    await handler({ ...envelope, commandId: "noop" });
    await Bun.sleep(0);
    expect(wakes).toBe(1);
  });

  test("the wake-up follows what the turn's microtasks send (the answers), never goes ahead of them", async () => {
    const order: string[] = [];
    const handler = wakeRelayAfterEvents(
      async () => ok,
      () => order.push("wake"),
    );
    await handler(envelope);
    queueMicrotask(() => order.push("answer"));
    await Promise.resolve();
    expect(order).toEqual(["answer"]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(["answer", "wake"]);
  });
});
