import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { headers, type Msg } from "@nats-io/nats-core";
import { createCommandRuntime } from "../../actors/command-thread";
import { createCommandThreadPool } from "../../actors/thread-pool";
import { buildEnvelope } from "../../commands/build-envelope";
import type { CommandOutcome, CommandSender } from "../../contracts";
import { uuidFrom } from "../../contracts";
import type { DomainCommand } from "../../domain";
import { createTestDatabase, createTestNats, type TestDatabase, type TestNats } from "../../testing";
import { findStoredOutcome } from "../../write-model";
import { partitionOf } from "../partition";
import { type JetStreamCommandReceiver, startJetStreamCommandReceiver } from "./command-receiver";
import { createJetStreamCommandSender, REPLY_HEADER } from "./command-sender";
import { COMMAND_ID_HEADER, REPLIES_HEADER, readReplies } from "./replies";
import { ensureStreams, streamNames } from "./streams";

let db: TestDatabase;
let nats: TestNats;
let sender: CommandSender;
let receiver: JetStreamCommandReceiver;
let stopThreads: () => Promise<void>;
const actor = { sub: "ops", role: "admin" } as const;
const id = (s: string) => uuidFrom(`command-path:${s}`);
let n = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  nats = await createTestNats();
  const jsm = await jetstreamManager(nats.nc);
  await ensureStreams(jsm, nats.prefix);
  const threads = await createCommandThreadPool({
    threads: 2,
    entry: new URL("../../../workers/command-thread.ts", import.meta.url),
    data: {
      databaseUrl: db.url,
      natsUrl: nats.url,
      prefix: nats.prefix,
      poolSize: 2,
      maxBatch: 32,
      logLevel: "warn",
    },
  });
  stopThreads = threads.stop;
  receiver = await startJetStreamCommandReceiver({
    jsm,
    prefix: nats.prefix,
    partitions: 4,
    databaseUrl: db.url,
    host: threads,
  });
  sender = createJetStreamCommandSender({
    nc: nats.nc,
    prefix: nats.prefix,
    partitions: 4,
    defaultTimeoutMs: 10_000,
    lookup: (commandId) => findStoredOutcome(db.pool, commandId),
  });
});

afterAll(async () => {
  await sender.close();
  await receiver.stop();
  await stopThreads();
  await nats.cleanup();
  await db.drop();
});

function send(command: DomainCommand, commandId = `cmd-${++n}`): Promise<CommandOutcome> {
  const { envelope } = buildEnvelope(command, { commandId, actor });
  return sender.send(envelope);
}

function code(o: CommandOutcome) {
  return o.ok ? "OK" : o.error.code;
}

describe("command path over JetStream with worker threads (real NATS + Postgres)", () => {
  test("this process owns every partition", () => {
    expect(receiver.ownership.owned()).toEqual([0, 1, 2, 3]);
  });

  test("a command goes through and comes back with its result", async () => {
    const out = await send({ type: "CreateUser", userId: id("u"), email: "u@example.com", displayName: "U" });
    expect(out.ok && out.result).toMatchObject({
      aggregateId: id("u"),
      version: 1,
      events: ["user.created"],
    });
  });

  test("the same command sent 3 times at once: one effect, two duplicates", async () => {
    const cmd: DomainCommand = {
      type: "CreateUser",
      userId: id("dup"),
      email: "dup@example.com",
      displayName: "D",
    };
    const outs = await Promise.all([send(cmd, "dup-1"), send(cmd, "dup-1"), send(cmd, "dup-1")]);
    expect(outs.map(code)).toEqual(["OK", "OK", "OK"]);
    expect(outs.filter((o) => o.ok && !o.result.duplicate)).toHaveLength(1);
    const events = await db.pool.query("SELECT count(*)::int AS n FROM events WHERE aggregate_id = $1", [
      id("dup"),
    ]);
    expect(events.rows[0].n).toBe(1);
  });

  test("50 concurrent turns on one conversation are numbered 1..50 without gap or duplicate", async () => {
    const c = id("conv");
    expect(
      code(
        await send({
          type: "StartConversation",
          conversationId: c,
          userId: id("u"),
          voiceModelId: null,
          faceModelId: null,
        }),
      ),
    ).toBe("OK");
    const outs = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        send({
          type: "RecordConversationTurn",
          conversationId: c,
          speaker: "USER",
          text: `turn ${i}`,
          audioMs: 1,
          latencyMs: 1,
        }),
      ),
    );
    expect(outs.every((o) => o.ok)).toBe(true);
    const versions = outs.map((o) => (o.ok ? o.result.version : -1)).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    const turns = await db.pool.query(
      "SELECT sequence FROM turns WHERE conversation_id = $1 ORDER BY sequence",
      [c],
    );
    expect(turns.rows.map((r) => r.sequence)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  test("commands of one aggregate are applied in the order they were sent", async () => {
    const c = id("ordered");
    await send({
      type: "StartConversation",
      conversationId: c,
      userId: id("u"),
      voiceModelId: null,
      faceModelId: null,
    });
    // Published one after another without awaiting the answers: the texts must come out in order.
    const outs = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        send({
          type: "RecordConversationTurn",
          conversationId: c,
          speaker: "CLONE",
          text: `#${i}`,
          audioMs: 1,
          latencyMs: 1,
        }),
      ),
    );
    expect(outs.every((o) => o.ok)).toBe(true);
    const turns = await db.pool.query("SELECT text FROM turns WHERE conversation_id = $1 ORDER BY sequence", [
      c,
    ]);
    expect(turns.rows.map((r) => r.text)).toEqual(Array.from({ length: 30 }, (_, i) => `#${i}`));
  });

  test("the in-process runtime gives the same answers as the threads (stored results)", async () => {
    const runtime = createCommandRuntime({ connect: () => db.pool.connect(), concurrency: 1, maxBatch: 8 });
    const { envelope } = buildEnvelope(
      { type: "CreateUser", userId: id("dup"), email: "dup@example.com", displayName: "D" },
      { commandId: "dup-1", actor },
    );
    const out = await runtime.submit(envelope);
    expect(out.ok && out.result.duplicate).toBe(true);
  });

  test("commands applied together are answered in one message per gateway; an older gateway's one by one", async () => {
    const names = streamNames(nats.prefix);
    const seen: Msg[] = [];
    const spy = nats.nc.subscribe(names.replySubject("*"), {
      callback: (_e, m) => {
        seen.push(m);
      },
    });
    await nats.nc.flush();
    const users = Array.from({ length: 40 }, (_, i) => id(`batched-${i}`));
    const outs = await Promise.all(
      users.map((userId, i) =>
        send({ type: "CreateUser", userId, email: `b${i}@example.com`, displayName: "B" }),
      ),
    );
    expect(outs.map(code)).toEqual(users.map(() => "OK"));
    await nats.nc.flush();
    const batched = seen.filter((m) => m.headers?.has(REPLIES_HEADER));
    expect(batched.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(users.length);
    expect(new Set(seen.flatMap((m) => readReplies(m).map(([commandId]) => commandId))).size).toBe(
      users.length,
    );

    // A gateway of the version before (no Clone-Reply-Batches header): a single answer per command.
    seen.length = 0;
    const oldReplies = names.replySubject("older-gateway");
    const answered = new Promise<void>((resolve) => {
      const expectAll = setInterval(() => {
        if (seen.filter((m) => m.subject === oldReplies).length >= 20) {
          clearInterval(expectAll);
          resolve();
        }
      }, 20);
    });
    for (let i = 0; i < 20; i++) {
      const userId = id(`older-${i}`);
      const { envelope } = buildEnvelope(
        { type: "CreateUser", userId, email: `o${i}@example.com`, displayName: "O" },
        { commandId: `older-${i}`, actor },
      );
      const h = headers();
      h.set("Nats-Msg-Id", envelope.commandId);
      h.set(REPLY_HEADER, oldReplies);
      nats.nc.publish(names.commandSubject(partitionOf(userId, 4)), JSON.stringify(envelope), { headers: h });
    }
    await answered;
    const old = seen.filter((m) => m.subject === oldReplies);
    expect(
      old.every((m) => !m.headers?.has(REPLIES_HEADER) && m.headers?.get(COMMAND_ID_HEADER) !== ""),
    ).toBe(true);
    expect(new Set(old.map((m) => m.headers?.get(COMMAND_ID_HEADER)))).toEqual(
      new Set(Array.from({ length: 20 }, (_, i) => `older-${i}`)),
    );
    spy.unsubscribe();
  });
});
