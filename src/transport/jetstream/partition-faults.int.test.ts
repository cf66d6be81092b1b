/**
 * The command path across a NATS crash (a private nats-server SIGKILLed and started again under the worker
 * threads): every command sent after the restart is answered, and the COMMANDS work queue empties. Measured
 * on nats-server 2.9: after such a restart, commands applied and acked through the surviving consumers stayed
 * in the work queue (all of them, below the consumers' ack floor) until the next partition handover; the
 * receiver now starts every partition over on a recreated consumer when NATS comes back.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createCommandThreadPool } from "../../actors/thread-pool";
import { buildEnvelope } from "../../commands/build-envelope";
import type { CommandOutcome, CommandSender } from "../../contracts";
import { uuidFrom } from "../../contracts";
import { connectNats, type NatsHandles } from "../../nats";
import { createTestDatabase, type TestDatabase } from "../../testing";
import { type PrivateNats, startPrivateNats } from "../../testing/private-servers";
import { findStoredOutcome } from "../../write-model";
import { type JetStreamCommandReceiver, startJetStreamCommandReceiver } from "./command-receiver";
import { createJetStreamCommandSender } from "./command-sender";
import { ensureStreams, streamNames } from "./streams";

const prefix = "partfaults";
let server: PrivateNats;
let db: TestDatabase;
let nats: NatsHandles;
let sender: CommandSender;
let receiver: JetStreamCommandReceiver;
let stopThreads: () => Promise<void>;

beforeAll(async () => {
  [server, db] = await Promise.all([startPrivateNats(), createTestDatabase()]);
  nats = await connectNats(server.url, "partition-faults-test");
  await ensureStreams(nats.jsm, prefix);
  const threads = await createCommandThreadPool({
    threads: 2,
    entry: new URL("../../../workers/command-thread.ts", import.meta.url),
    data: { databaseUrl: db.url, natsUrl: server.url, prefix, poolSize: 2, logLevel: "warn" },
  });
  stopThreads = threads.stop;
  receiver = await startJetStreamCommandReceiver({
    jsm: nats.jsm,
    nc: nats.nc,
    prefix,
    partitions: 4,
    databaseUrl: db.url,
    host: threads,
  });
  sender = createJetStreamCommandSender({
    nc: nats.nc,
    prefix,
    partitions: 4,
    defaultTimeoutMs: 15_000,
    lookup: (commandId) => findStoredOutcome(db.pool, commandId),
  });
}, 30_000);
afterAll(async () => {
  await sender?.close();
  await receiver?.stop();
  await stopThreads?.();
  await nats?.nc.close();
  await Promise.all([server?.destroy(), db?.drop()]);
});

function createUsers(tag: string, count: number): Promise<CommandOutcome[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => {
      const { envelope } = buildEnvelope(
        {
          type: "CreateUser",
          userId: uuidFrom(`${tag}-${i}`),
          email: `${tag}-${i}@x.io`,
          displayName: "Pat",
        },
        { commandId: `${tag}-${i}`, actor: { sub: "ops", role: "admin" } },
      );
      return sender.send(envelope);
    }),
  );
}

async function queued(): Promise<number> {
  const info = await nats.jsm.streams.info(streamNames(prefix).commandStream);
  return info.state.messages;
}

async function sigkillNats(): Promise<void> {
  const reconnected = (async () => {
    for await (const s of nats.nc.status()) if (s.type === "reconnect") return;
  })();
  await server.restart("SIGKILL");
  await reconnected;
}

test("across NATS SIGKILLs, commands are answered and the work queue empties", async () => {
  for (let round = 0; round < 4; round++) {
    expect((await createUsers(`round-${round}`, 100)).filter((o) => !o.ok)).toEqual([]);
    await sigkillNats();
  }
  expect((await createUsers("last", 50)).filter((o) => !o.ok)).toEqual([]);
  const deadline = Date.now() + 5_000;
  let left = await queued();
  while (left > 0 && Date.now() < deadline) {
    await Bun.sleep(100);
    left = await queued();
  }
  expect(left).toBe(0);
}, 60_000);
