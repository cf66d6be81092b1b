/**
 * The command threads on a real Postgres and NATS: each thread consumes its partitions itself.
 *
 * - A graceful stop in the middle of a stream of commands: what a thread had received is applied, answered and
 *   acked; the rest stays in the work queue, and a pool started afterwards applies it, each command once.
 * - A thread that dies in the middle of its work is replaced and its partitions start over from their first
 *   unacked command (and so again when the replacement fails at start-up): every command is answered, applied
 *   once, and each conversation's turns keep the order they were sent in.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { buildEnvelope } from "../commands/build-envelope";
import type { CommandOutcome, CommandSender, ThreadExecution } from "../contracts";
import { uuidFrom } from "../contracts";
import type { DomainCommand } from "../domain";
import { createTestDatabase, createTestNats, type TestDatabase, type TestNats } from "../testing";
import { crashMarker } from "../testing/crashing-command-thread";
import { captureLogs } from "../testing/logs";
import { FAILED_STARTS, slowStartMarker } from "../testing/slow-starting-command-thread";
import {
  type JetStreamCommandReceiver,
  startJetStreamCommandReceiver,
} from "../transport/jetstream/command-receiver";
import { createJetStreamCommandSender } from "../transport/jetstream/command-sender";
import { ensureStreams, resetPartitionConsumer, streamNames } from "../transport/jetstream/streams";
import { partitionOf } from "../transport/partition";
import { findStoredOutcome } from "../write-model";
import { type CommandThreadPool, createCommandThreadPool } from "./thread-pool";

const PARTITIONS = 4;
const actor = { sub: "ops", role: "admin" } as const;

let db: TestDatabase;
let nats: TestNats;
let sender: CommandSender;
/** Pools and receivers still running, stopped after each test. */
let running: Array<{ pool: CommandThreadPool; receiver: JetStreamCommandReceiver }> = [];

beforeAll(async () => {
  db = await createTestDatabase();
  nats = await createTestNats();
  await ensureStreams(await jetstreamManager(nats.nc), nats.prefix);
  sender = createJetStreamCommandSender({
    nc: nats.nc,
    prefix: nats.prefix,
    partitions: PARTITIONS,
    defaultTimeoutMs: 30_000,
    lookup: (commandId) => findStoredOutcome(db.pool, commandId),
  });
});

afterEach(async () => {
  for (const r of running) await stopWorker(r);
  running = [];
  poolLog.length = 0;
});

afterAll(async () => {
  rmSync(crashMarker(nats.prefix), { force: true });
  rmSync(slowStartMarker(nats.prefix), { force: true });
  await sender?.close();
  await nats?.cleanup();
  await db?.drop();
});

/** What the pools logged, and when. */
const { log: poolLogger, lines: poolLog } = captureLogs();

function startPool(
  entry = "../../workers/command-thread.ts",
  onExecutions?: (executions: readonly ThreadExecution[]) => void,
): Promise<CommandThreadPool> {
  return createCommandThreadPool({
    threads: 2,
    entry: new URL(entry, import.meta.url),
    data: {
      databaseUrl: db.url,
      natsUrl: nats.url,
      prefix: nats.prefix,
      // One command per transaction: slow enough that a stop or a crash lands in the middle of the stream.
      poolSize: 1,
      maxBatch: 1,
      logLevel: "error",
    },
    ...(onExecutions === undefined ? {} : { onExecutions }),
    log: poolLogger,
  });
}

async function startWorker(entry?: string, onExecutions?: (executions: readonly ThreadExecution[]) => void) {
  const pool = await startPool(entry, onExecutions);
  const receiver = await startJetStreamCommandReceiver({
    jsm: await jetstreamManager(nats.nc),
    prefix: nats.prefix,
    partitions: PARTITIONS,
    databaseUrl: db.url,
    host: pool,
  });
  const worker = { pool, receiver };
  running.push(worker);
  return worker;
}

async function stopWorker(worker: { pool: CommandThreadPool; receiver: JetStreamCommandReceiver }) {
  running = running.filter((r) => r !== worker);
  await worker.receiver.stop();
  await worker.pool.stop();
}

function send(command: DomainCommand, commandId: string): Promise<CommandOutcome> {
  return sender.send(buildEnvelope(command, { commandId, actor }).envelope);
}

async function count(sql: string, values: unknown[]): Promise<number> {
  return (await db.pool.query(sql, values)).rows[0].n as number;
}

/** Messages still in the COMMANDS work queue. */
async function queued(): Promise<number> {
  const jsm = await jetstreamManager(nats.nc);
  return (await jsm.streams.info(streamNames(nats.prefix).commandStream)).state.messages;
}

describe("command thread pool", () => {
  test("a graceful stop mid-stream answers what the threads received; a later pool applies the rest once", async () => {
    const executions: ThreadExecution[] = [];
    const first = await startWorker(undefined, (e) => executions.push(...e));
    // More than the threads pull ahead (64 per partition), so some are still in the work queue at the stop.
    const total = 2_000;
    const answered: CommandOutcome[] = [];
    const outcomes = Array.from({ length: total }, (_, i) =>
      send(
        {
          type: "CreateUser",
          userId: uuidFrom(`tp-stop:${i}`),
          email: `tp${i}@example.com`,
          displayName: `TP ${i}`,
        },
        `tp-stop-${i}`,
      ).then((o) => {
        answered.push(o);
        return o;
      }),
    );
    while (answered.length < 50) await Bun.sleep(5);
    await stopWorker(first);
    const appliedBeforeStop = await count(
      "SELECT count(*)::int AS n FROM command_results WHERE command_id LIKE 'tp-stop-%'",
      [],
    );
    // Everything stored was answered and acked; the rest waits in the work queue.
    for (let waited = 0; answered.length < appliedBeforeStop && waited < 5_000; waited += 10)
      await Bun.sleep(10);
    expect(answered.length).toBe(appliedBeforeStop);
    expect(answered.every((o) => o.ok && !o.result.duplicate)).toBe(true);
    expect(appliedBeforeStop).toBeLessThan(total);
    // Sends still being published when the stop came land in the queue a little later.
    for (let waited = 0; (await queued()) < total - appliedBeforeStop && waited < 5_000; waited += 20)
      await Bun.sleep(20);
    expect(await queued()).toBe(total - appliedBeforeStop);
    // The threads' executions reached the main thread (for its metrics), each with its type and outcome.
    expect(executions.length).toBe(appliedBeforeStop);
    expect(executions.every((e) => e.commandType === "CreateUser" && e.outcome === "ok")).toBe(true);

    await startWorker();
    const all = await Promise.all(outcomes);
    expect(all.every((o) => o.ok)).toBe(true);
    expect(
      await count(
        "SELECT count(*)::int AS n FROM events WHERE type = 'user.created' AND metadata->>'commandId' LIKE 'tp-stop-%'",
        [],
      ),
    ).toBe(total);
    expect(await queued()).toBe(0);
  }, 60_000);

  test("a thread that dies mid-work is replaced; its partitions start over, each command applied once, in order", async () => {
    await startWorker("../testing/crashing-command-thread.ts");
    const userId = uuidFrom("tp-crash-owner");
    expect(
      (await send({ type: "CreateUser", userId, email: "owner@example.com", displayName: "O" }, "tp-crash-u"))
        .ok,
    ).toBe(true);
    const conversations = Array.from({ length: 8 }, (_, i) => uuidFrom(`tp-crash-conv:${i}`));
    for (const [i, conversationId] of conversations.entries()) {
      const started = await send(
        { type: "StartConversation", conversationId, userId, voiceModelId: null, faceModelId: null },
        `tp-crash-start-${i}`,
      );
      expect(started.ok).toBe(true);
    }
    // Turns keep coming, sent in order per conversation, while thread 0 dies (CRASH_AFTER_MS after it started).
    const perConversation = 60;
    const outcomes: Promise<CommandOutcome>[] = [];
    for (let k = 0; k < perConversation; k++) {
      for (const [i, conversationId] of conversations.entries()) {
        outcomes.push(
          send(
            {
              type: "RecordConversationTurn",
              conversationId,
              speaker: "USER",
              text: `#${k}`,
              audioMs: 1,
              latencyMs: 1,
            },
            `tp-crash-turn-${i}-${k}`,
          ),
        );
      }
      await Bun.sleep(10);
    }
    const sendingEnded = performance.now();
    const all = await Promise.all(outcomes);
    expect(all.filter((o) => !o.ok)).toEqual([]);
    // Each turn was sent once: even one applied by the dead thread, whose answer was lost and which its
    // partition's next consumer answered from the stored result, is not a duplicate.
    expect(all.filter((o) => o.ok && o.result.duplicate)).toEqual([]);
    // The thread died while turns were still being sent, and was replaced; its replacement failed at
    // start-up and was replaced in turn.
    const restarts = poolLog.filter((l) => l.msg === "command thread exited; starting a new one");
    expect(restarts).toHaveLength(2);
    expect(restarts[0]?.at).toBeLessThan(sendingEnded);
    expect(poolLog.map((l) => l.msg)).toContain("command thread failed");
    for (const conversationId of conversations) {
      const turns = await db.pool.query(
        "SELECT sequence, text FROM turns WHERE conversation_id = $1 ORDER BY sequence",
        [conversationId],
      );
      expect(turns.rows.map((r) => r.sequence)).toEqual(
        Array.from({ length: perConversation }, (_, k) => k + 1),
      );
      expect(turns.rows.map((r) => r.text)).toEqual(
        Array.from({ length: perConversation }, (_, k) => `#${k}`),
      );
    }
    expect(
      await count(
        "SELECT count(*)::int AS n FROM events WHERE type = 'conversation.turn_recorded' AND metadata->>'commandId' LIKE 'tp-crash-turn-%'",
        [],
      ),
    ).toBe(perConversation * conversations.length);
  }, 60_000);
  test("a thread that fails to start is started again; the pool starts and applies commands", async () => {
    rmSync(slowStartMarker(nats.prefix), { force: true });
    const { pool } = await startWorker("../testing/slow-starting-command-thread.ts");
    const retries = poolLog.filter((l) => l.msg === "command thread failed to start; starting it again");
    expect(retries).toHaveLength(FAILED_STARTS);
    expect(readFileSync(slowStartMarker(nats.prefix), "utf8")).toBe(String(FAILED_STARTS));
    const outcome = await send(
      { type: "CreateUser", userId: uuidFrom("tp-slow-start"), email: "slow@example.com", displayName: "S" },
      "tp-slow-start",
    );
    expect(outcome.ok).toBe(true);
    expect(pool.assignment().size).toBe(PARTITIONS);
  }, 30_000);

  test("a partition goes to the thread with the fewest; one released while it starts is not consumed", async () => {
    const pool = await startPool();
    const jsm = await jetstreamManager(nats.nc);
    const prepare =
      (partition: number, delayMs = 0) =>
      async () => {
        await Bun.sleep(delayMs);
        const durable = await resetPartitionConsumer(jsm, nats.prefix, partition, {
          maxAckPending: 64,
          ackWaitMs: 30_000,
        });
        return { durable, maxMessages: 64 };
      };
    try {
      // Partitions 1 and 3 would both be thread 1's by number; they go one to each thread.
      await pool.consume(1, prepare(1));
      await pool.consume(3, prepare(3));
      expect([...pool.assignment()].sort()).toEqual([
        [1, 0],
        [3, 1],
      ]);
      await pool.release(1);
      await pool.consume(2, prepare(2));
      expect(pool.assignment().get(2)).toBe(0);

      // A release asked while the partition's consumer is still being recreated runs after it: nothing is
      // left consuming partition 0, so a command published to it stays in the work queue.
      const starting = pool.consume(0, prepare(0, 200));
      await pool.release(0);
      await starting;
      expect(pool.assignment().has(0)).toBe(false);
      let userId = crypto.randomUUID();
      while (partitionOf(userId, PARTITIONS) !== 0) userId = crypto.randomUUID();
      const before = await queued();
      const { envelope } = buildEnvelope(
        { type: "CreateUser", userId, email: "unconsumed@example.com", displayName: "U" },
        { commandId: "tp-unconsumed", actor },
      );
      await jetstream(nats.nc).publish(
        streamNames(nats.prefix).commandSubject(0),
        new TextEncoder().encode(JSON.stringify(envelope)),
      );
      await Bun.sleep(500);
      expect(await queued()).toBe(before + 1);
      expect(
        await count("SELECT count(*)::int AS n FROM command_results WHERE command_id = 'tp-unconsumed'", []),
      ).toBe(0);
      // The partitions still assigned are released in the stop.
      await pool.release(2);
      await pool.release(3);
    } finally {
      await pool.stop();
    }
  });
});
