/**
 * The poison-pill guard across NATS restarts, on a private nats-server and the real command threads: while
 * the command threads' Postgres is down, a command waits first in its partition (not applied, nak'ed, delivered
 * again), and NATS is SIGKILLed and restarted three times within a minute; the worker starts every partition
 * over after each reconnect. Those starts are no sign of poison: once Postgres is back, the command is applied
 * and answered, and nothing is dead-lettered. (Before the guard looked at why a partition starts, the second
 * reconnect took the command out as a dead letter and answered its caller FAILED_PRECONDITION.)
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import pino from "pino";
import { createCommandThreadPool } from "../../actors/thread-pool";
import { buildEnvelope } from "../../commands/build-envelope";
import type { CommandSender } from "../../contracts";
import { uuidFrom } from "../../contracts";
import { listDeadLetters } from "../../dead-letters";
import { connectNats, type NatsHandles } from "../../nats";
import { createTestDatabase, type TestDatabase } from "../../testing";
import {
  type PrivateNats,
  startPrivateNats,
  startTcpProxy,
  type TcpProxy,
} from "../../testing/private-servers";
import { findStoredOutcome } from "../../write-model";
import { type JetStreamCommandReceiver, startJetStreamCommandReceiver } from "./command-receiver";
import { createJetStreamCommandSender } from "./command-sender";
import { quarantineAsDeadLetter } from "./poison-pill";
import { ensureStreams, streamNames } from "./streams";

const prefix = "pillreconnect";
let server: PrivateNats;
let db: TestDatabase;
/** The command threads reach Postgres through it; the guard's dead letters do not. */
let postgresProxy: TcpProxy;
let nats: NatsHandles;
let sender: CommandSender;
let receiver: JetStreamCommandReceiver;
let stopThreads: () => Promise<void>;
const receiverLog: string[] = [];

beforeAll(async () => {
  [server, db] = await Promise.all([startPrivateNats(), createTestDatabase()]);
  postgresProxy = await startTcpProxy(Number(new URL(db.url).port || 5432));
  const threadDatabaseUrl = new URL(db.url);
  threadDatabaseUrl.port = String(postgresProxy.port);
  nats = await connectNats(server.url, "poison-pill-reconnects-test");
  await ensureStreams(nats.jsm, prefix);
  const threads = await createCommandThreadPool({
    threads: 1,
    entry: new URL("../../../workers/command-thread.ts", import.meta.url),
    data: {
      databaseUrl: threadDatabaseUrl.toString(),
      natsUrl: server.url,
      prefix,
      poolSize: 2,
      logLevel: "fatal",
    },
  });
  stopThreads = threads.stop;
  receiver = await startJetStreamCommandReceiver({
    jsm: nats.jsm,
    nc: nats.nc,
    prefix,
    partitions: 1,
    databaseUrl: db.url,
    host: threads,
    quarantine: quarantineAsDeadLetter(db.pool, nats.nc),
    // The receiver's log lines, as pino writes them (one JSON object per line).
    log: pino(
      { level: "info" },
      { write: (line: string) => receiverLog.push((JSON.parse(line) as { msg: string }).msg) },
    ),
  });
  sender = createJetStreamCommandSender({
    nc: nats.nc,
    prefix,
    partitions: 1,
    defaultTimeoutMs: 45_000,
    lookup: (commandId) => findStoredOutcome(db.pool, commandId),
  });
}, 30_000);
afterAll(async () => {
  postgresProxy?.resume();
  await sender?.close();
  await receiver?.stop();
  await stopThreads?.();
  await nats?.nc.close();
  await postgresProxy?.close();
  await Promise.all([server?.destroy(), db?.drop()]);
});

/** Resolves once `predicate` holds (checked every 100 ms); rejects after `timeoutMs`. */
async function until(what: string, predicate: () => Promise<boolean> | boolean, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

test("a command waiting first in its partition through three NATS restarts in a minute is applied, not dead-lettered", async () => {
  postgresProxy.refuse();
  const userId = uuidFrom("pill-reconnect-user");
  const { envelope } = buildEnvelope(
    { type: "CreateUser", userId, email: "waiting@x.io", displayName: "Pat" },
    { commandId: "pill-reconnect-create", actor: { sub: "ops", role: "admin" } },
  );
  const outcome = sender.send(envelope);
  const names = streamNames(prefix);
  const delivered = async (): Promise<boolean> => {
    const info = await nats.jsm.consumers
      .info(names.commandStream, names.commandConsumer(0))
      .catch(() => null);
    return (info?.delivered.consumer_seq ?? 0) > 0;
  };
  // Delivered and nak'ed (its thread cannot reach Postgres): it waits first in the work queue.
  await until("the command to be delivered", delivered);
  const started = Date.now();
  for (let round = 1; round <= 3; round++) {
    const reconnected = (async () => {
      for await (const s of nats.nc.status()) if (s.type === "reconnect") return;
    })();
    await server.restart("SIGKILL");
    await reconnected;
    // The partition is started over (its consumer recreated) at the same oldest command, delivered again.
    await until(
      "the partition to start over",
      () => receiverLog.filter((m) => m.startsWith("NATS")).length >= round,
    );
    await Bun.sleep(1_000);
    expect(await listDeadLetters(db.pool)).toEqual([]);
    await until("the command to be delivered again", delivered);
  }
  expect(Date.now() - started).toBeLessThan(60_000);
  postgresProxy.resume();
  const result = await outcome;
  expect(result).toMatchObject({ ok: true });
  expect(await listDeadLetters(db.pool)).toEqual([]);
  const stored = await db.pool.query("select 1 from users where id = $1", [userId]);
  expect(stored.rowCount).toBe(1);
}, 60_000);
