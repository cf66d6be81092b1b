/**
 * The JetStream command sender against real NATS, with a stand-in worker: a JetStream consumer of the command
 * stream that answers (or not) on the reply subject named in each message, as the command receiver does.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers } from "@nats-io/nats-core";
import { buildEnvelope } from "../../commands/build-envelope";
import type { CommandEnvelope, CommandOutcome, CommandSender } from "../../contracts";
import { markDuplicate, skippedOutcome } from "../../contracts";
import { AppError } from "../../errors";
import { createTestNats, type TestNats } from "../../testing";
import { createJetStreamCommandSender, REPLY_HEADER } from "./command-sender";
import { COMMAND_ID_HEADER } from "./replies";
import { ensureStreams, streamNames } from "./streams";

let nats: TestNats;
let sender: CommandSender;
/** What the stand-in worker does with a command id: answer at once, never, or after a delay. */
let behaviour: (commandId: string) => "answer" | "ignore" | "skip" = () => "answer";
const received: string[] = [];
const stored = new Map<string, { payloadHash: string; outcome: CommandOutcome }>();
const actor = { sub: "ops", role: "admin" } as const;
let n = 0;

const okOutcome = (envelope: Pick<CommandEnvelope, "commandId" | "aggregateId">): CommandOutcome => ({
  ok: true,
  result: {
    commandId: envelope.commandId,
    aggregateId: envelope.aggregateId,
    version: 1,
    events: ["user.created"],
    position: "1",
    duplicate: false,
  },
});

function envelopeOf(commandId = `cmd-${++n}`, deadline?: number, email = "a@example.com"): CommandEnvelope {
  return buildEnvelope(
    { type: "CreateUser", userId: crypto.randomUUID(), email, displayName: "A" },
    { commandId, actor, ...(deadline === undefined ? {} : { deadline }) },
  ).envelope;
}

beforeAll(async () => {
  nats = await createTestNats();
  const jsm = await jetstreamManager(nats.nc);
  await ensureStreams(jsm, nats.prefix);
  const stream = streamNames(nats.prefix).commandStream;
  await jsm.consumers.add(stream, { durable_name: "stand-in", ack_policy: AckPolicy.Explicit });
  const consumer = await jetstream(nats.nc).consumers.get(stream, "stand-in");
  await consumer.consume({
    callback: (msg) => {
      msg.ack();
      const envelope = JSON.parse(new TextDecoder().decode(msg.data)) as CommandEnvelope;
      received.push(envelope.commandId);
      const replyTo = msg.headers?.get(REPLY_HEADER);
      if (!replyTo || behaviour(envelope.commandId) === "ignore") return;
      if (behaviour(envelope.commandId) === "skip") {
        const h = headers();
        h.set(COMMAND_ID_HEADER, envelope.commandId);
        nats.nc.publish(replyTo, JSON.stringify(skippedOutcome()), { headers: h });
        return;
      }
      // Like the executor: a command id's stored result answers every later copy.
      const earlier = stored.get(envelope.commandId)?.outcome;
      const outcome = earlier ? markDuplicate(earlier) : okOutcome(envelope);
      if (!earlier) stored.set(envelope.commandId, { payloadHash: envelope.payloadHash, outcome });
      const h = headers();
      h.set(COMMAND_ID_HEADER, envelope.commandId);
      nats.nc.publish(replyTo, JSON.stringify(outcome), { headers: h });
    },
  });
  sender = createJetStreamCommandSender({
    nc: nats.nc,
    prefix: nats.prefix,
    partitions: 4,
    defaultTimeoutMs: 2_000,
    lookup: async (commandId) => stored.get(commandId),
  });
});

afterAll(async () => {
  await sender.close();
  await nats.cleanup();
});

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error("expected a rejection");
}

describe("JetStream command sender (real NATS, stand-in worker)", () => {
  test("a command is published once and answered", async () => {
    const envelope = envelopeOf();
    const outcome = await sender.send(envelope);
    expect(outcome).toEqual(okOutcome(envelope));
    expect(received.filter((id) => id === envelope.commandId)).toHaveLength(1);
  });

  test("a re-sent command id is dropped by JetStream and answered from the stored outcome", async () => {
    const envelope = envelopeOf();
    await sender.send(envelope);
    const again = await sender.send(envelope);
    expect(again.ok && again.result.duplicate).toBe(true);
    expect(received.filter((id) => id === envelope.commandId)).toHaveLength(1);
    // The same id with another payload: INVALID_ARGUMENT, as the worker would say.
    const other = { ...envelopeOf(envelope.commandId, undefined, "b@example.com") };
    const reused = await sender.send(other);
    expect(!reused.ok && reused.error.code).toBe("INVALID_ARGUMENT");
  });

  test("the same command sent twice at once from one gateway is published once; both are answered", async () => {
    const envelope = envelopeOf();
    const [a, b] = await Promise.all([sender.send(envelope), sender.send(envelope)]);
    expect(a.ok && a.result.duplicate).toBe(false);
    expect(b.ok && b.result.duplicate).toBe(true);
    expect(received.filter((id) => id === envelope.commandId)).toHaveLength(1);
  });

  test("no answer before the deadline: DEADLINE_EXCEEDED; a retry reads the result stored meanwhile", async () => {
    const envelope = envelopeOf(undefined, Date.now() + 200);
    behaviour = (id) => (id === envelope.commandId ? "ignore" : "answer");
    const started = performance.now();
    const error = await rejection(sender.send(envelope));
    expect(error.code).toBe("DEADLINE_EXCEEDED");
    expect(error.message).toContain("retry with the same command_id");
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    behaviour = () => "answer";
    // The worker finished meanwhile: the retry is dropped by JetStream and answered from the stored result.
    stored.set(envelope.commandId, { payloadHash: envelope.payloadHash, outcome: okOutcome(envelope) });
    const retry = await sender.send({ ...envelope, deadline: Date.now() + 2_000 });
    expect(retry.ok && retry.result.duplicate).toBe(true);
    expect(received.filter((id) => id === envelope.commandId)).toHaveLength(1);
  });

  test("a retry of a copy that was skipped (nothing stored) is published again as a retry copy and applied", async () => {
    const envelope = envelopeOf(undefined, Date.now() + 200);
    // The first copy is received and skipped: acked, nothing stored, a skipped answer nobody waits for.
    behaviour = (id) => (id === envelope.commandId ? "ignore" : "answer");
    expect((await rejection(sender.send(envelope))).code).toBe("DEADLINE_EXCEEDED");
    behaviour = () => "answer";
    const retry = await sender.send({ ...envelope, deadline: Date.now() + 2_000 });
    expect(retry.ok && retry.result.duplicate).toBe(false);
    expect(received.filter((id) => id === envelope.commandId)).toHaveLength(2);
    // A third attempt is answered from the stored result of the second.
    const third = await sender.send({ ...envelope, deadline: Date.now() + 2_000 });
    expect(third.ok && third.result.duplicate).toBe(true);
  });

  test("a retry joining a first attempt still waited for, whose copy is skipped, gets a copy of its own", async () => {
    const envelope = envelopeOf(undefined, Date.now() + 300);
    // Only the first copy is skipped (its deadline passed in the queue, as the worker would see it).
    behaviour = (id) =>
      id === envelope.commandId && received.filter((r) => r === id).length === 1 ? "skip" : "answer";
    const first = sender.send(envelope).catch((error: unknown) => error);
    await Bun.sleep(50); // the first copy was received and skipped; its waiter is still here
    const retry = await sender.send({ ...envelope, deadline: Date.now() + 2_000 });
    expect(retry.ok && retry.result.commandId).toBe(envelope.commandId);
    expect(received.filter((id) => id === envelope.commandId)).toHaveLength(2);
    await first;
    behaviour = () => "answer";
  });

  test("a skipped answer settles no waiter: the caller still gets the gateway's DEADLINE_EXCEEDED at its deadline", async () => {
    const envelope = envelopeOf(undefined, Date.now() + 300);
    behaviour = (id) => (id === envelope.commandId ? "skip" : "answer");
    const error = await rejection(sender.send(envelope));
    expect(error.message).toContain("no result arrived before the deadline");
    behaviour = () => "answer";
  });

  test("the caller's signal: a cancel is CANCELLED, a deadline DEADLINE_EXCEEDED, an aborted one fails at once", async () => {
    behaviour = () => "ignore";
    const cancelled = new AbortController();
    const pendingCancel = sender.send(envelopeOf(), { signal: cancelled.signal });
    setTimeout(() => cancelled.abort(new AppError("CANCELLED", "the client cancelled the call")), 20);
    expect((await rejection(pendingCancel)).code).toBe("CANCELLED");

    const expired = new AbortController();
    const pendingDeadline = sender.send(envelopeOf(), { signal: expired.signal });
    setTimeout(() => expired.abort(new AppError("DEADLINE_EXCEEDED", "the call's deadline passed")), 20);
    expect((await rejection(pendingDeadline)).code).toBe("DEADLINE_EXCEEDED");

    const aborted = AbortSignal.abort(new AppError("CANCELLED", "gone"));
    const never = envelopeOf();
    expect((await rejection(sender.send(never, { signal: aborted }))).code).toBe("CANCELLED");
    await Bun.sleep(100);
    expect(received).not.toContain(never.commandId);
    behaviour = () => "answer";
  });

  test("a deadline already passed is refused before publishing", async () => {
    const error = await rejection(sender.send(envelopeOf(undefined, Date.now() - 1)));
    expect(error.code).toBe("DEADLINE_EXCEEDED");
  });

  test("no stream takes the subject: UNAVAILABLE at once (JetStream's no-responders status)", async () => {
    const orphan = createJetStreamCommandSender({
      nc: nats.nc,
      prefix: `${nats.prefix}_nostream`,
      partitions: 4,
      defaultTimeoutMs: 10_000,
      lookup: async () => undefined,
    });
    const started = performance.now();
    const error = await rejection(orphan.send(envelopeOf()));
    expect(error.code).toBe("UNAVAILABLE");
    expect(performance.now() - started).toBeLessThan(2_000);
    await orphan.close();
  });

  test("close answers every waiting command with UNAVAILABLE", async () => {
    const closing = createJetStreamCommandSender({
      nc: nats.nc,
      prefix: nats.prefix,
      partitions: 4,
      defaultTimeoutMs: 10_000,
      lookup: async () => undefined,
    });
    behaviour = () => "ignore";
    const waiting = closing.send(envelopeOf());
    await Bun.sleep(50);
    await closing.close();
    const outcome = await waiting;
    expect(!outcome.ok && outcome.error.code).toBe("UNAVAILABLE");
    behaviour = () => "answer";
  });
});
