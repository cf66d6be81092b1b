/**
 * The outbox relay across a NATS crash (a private nats-server, SIGKILLed and started again): events written
 * while NATS is down are published within about a second of its return. nats.js drops what it had buffered
 * when it reconnects, so a publish issued during the outage is never acked; the relay used to wait out its
 * 5 s ack timeout before trying again.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connectNats, type NatsHandles } from "../nats";
import { createTestDatabase, type TestDatabase } from "../testing";
import { type PrivateNats, startPrivateNats } from "../testing/private-servers";
import { ensureStreams, streamNames } from "../transport/jetstream/streams";
import { type OutboxRelay, startOutboxRelay } from "./relay";

let server: PrivateNats;
let db: TestDatabase;
let nats: NatsHandles;
let relay: OutboxRelay | undefined;
const prefix = "relayfaults";

beforeAll(async () => {
  [server, db] = await Promise.all([startPrivateNats(), createTestDatabase({ poolMax: 2 })]);
  nats = await connectNats(server.url, "relay-faults-test");
  await ensureStreams(nats.jsm, prefix);
});
afterAll(async () => {
  await relay?.stop();
  await nats?.nc.close();
  await Promise.all([server?.destroy(), db?.drop()]);
});

async function append(count: number): Promise<void> {
  await db.pool.query(
    `INSERT INTO events (aggregate_type, aggregate_id, aggregate_version, type, payload, metadata)
     SELECT 'user', gen_random_uuid(), 1, 'user.created', '{}', '{"command_id":"c"}' FROM generate_series(1, $1::int)`,
    [count],
  );
}

/** Resolves with the ms it took until the EVENTS stream holds `count` messages. */
async function published(count: number, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    const info = await nats.jsm.streams.info(streamNames(prefix).eventStream).catch(() => undefined);
    if ((info?.state.messages ?? 0) >= count) return performance.now() - started;
    await Bun.sleep(50);
  }
  throw new Error(`fewer than ${count} events published after ${timeoutMs} ms`);
}

test("events written while NATS is down are published within ~1 s of its return", async () => {
  relay = await startOutboxRelay({ databaseUrl: db.url, nc: nats.nc, prefix, pollMs: 100 });
  await append(1);
  await published(1, 10_000);

  const reconnected = (async () => {
    for await (const s of nats.nc.status()) if (s.type === "reconnect") return;
  })();
  await server.stop("SIGKILL");
  await append(3);
  await Bun.sleep(500); // the relay's round publishes into the disconnected client's buffer
  await server.start();
  await reconnected;
  const ms = await published(4, 15_000);
  expect(ms).toBeLessThan(2_500);
}, 40_000);
