/**
 * The outbox relay against real Postgres and NATS. Each test gets its own database and stream prefix.
 *
 * xmin spans the whole Postgres server, so transactions of other test files running at the same time can hold
 * publication back for a moment: every wait polls with a deadline, never a fixed sleep.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import type pg from "pg";
import { comparePoints, decodeToken, ORIGIN, type StreamPoint } from "../contracts";
import { ConfigError } from "../errors";
import { createTestDatabase, createTestNats, type TestDatabase, type TestNats } from "../testing";
import { captureLogs } from "../testing/logs";
import { createAckedPublisher } from "../transport/jetstream/acked-publisher";
import { ensureStreams, type StreamNames, streamNames } from "../transport/jetstream/streams";
import { type BatchRow, batchRows, checkpointOf, toPublishedEvent } from "./outbox-row";
import { publishBatch } from "./publish-batch";
import { decodePublishedEvent, PUBLISHED_EVENT_HEADERS, type PublishedEvent } from "./published-event";
import { type OutboxRelay, type OutboxRelayOptions, startOutboxRelay } from "./relay";
import { READ_CHECKPOINT_SQL, selectBatchQuery } from "./sql";

let nats: TestNats;
let jsm: JetStreamManager;
const databases: TestDatabase[] = [];
const relays: OutboxRelay[] = [];
let worlds = 0;

beforeAll(async () => {
  nats = await createTestNats();
  jsm = await jetstreamManager(nats.nc);
});
afterAll(async () => {
  await Promise.all(relays.map((r) => r.stop()));
  await Promise.all(databases.map((db) => db.drop()));
  await nats.cleanup();
});

interface World {
  readonly db: TestDatabase;
  readonly prefix: string;
  readonly names: StreamNames;
}

/** A fresh database and a fresh stream prefix, with streams unless `streams` is false. */
async function world(streams = true): Promise<World> {
  const db = await createTestDatabase({ poolMax: 4 });
  databases.push(db);
  worlds += 1;
  const prefix = `${nats.prefix}_${worlds}`;
  if (streams) await ensureStreams(jsm, prefix);
  return { db, prefix, names: streamNames(prefix) };
}

async function start(w: World, options: Partial<OutboxRelayOptions> = {}): Promise<OutboxRelay> {
  const relay = await startOutboxRelay({
    databaseUrl: w.db.url,
    nc: nats.nc,
    prefix: w.prefix,
    pollMs: 100,
    ...options,
  });
  relays.push(relay);
  return relay;
}

interface Appended {
  readonly eventId: string;
  readonly point: StreamPoint;
}

/** Appends `count` user.created events in one statement (so one transaction unless `q` is in one). */
async function append(q: pg.Pool | pg.PoolClient, count = 1): Promise<Appended[]> {
  const result = await q.query<{ event_id: string; transaction_id: string; position: string }>(
    `INSERT INTO events (aggregate_type, aggregate_id, aggregate_version, type, payload, metadata)
     SELECT 'user', gen_random_uuid(), 1, 'user.created', jsonb_build_object('n', n), '{"command_id":"c"}'
       FROM generate_series(1, $1::int) AS n
     RETURNING event_id, transaction_id::text, position::text`,
    [count],
  );
  return result.rows
    .map((r) => ({ eventId: r.event_id, point: checkpointOf(r) }))
    .sort((a, b) => comparePoints(a.point, b.point));
}

interface StreamEntry {
  readonly subject: string;
  readonly event: PublishedEvent;
  readonly header: (name: string) => string;
}

/** Every message of the EVENTS stream, in stream order. */
async function streamed(names: StreamNames): Promise<StreamEntry[]> {
  const info = await jsm.streams.info(names.eventStream);
  const entries: StreamEntry[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(names.eventStream, { seq });
    if (m === null) continue;
    entries.push({ subject: m.subject, event: decodePublishedEvent(m.data), header: (n) => m.header.get(n) });
  }
  return entries;
}

async function streamedCount(names: StreamNames): Promise<number> {
  return (await jsm.streams.info(names.eventStream)).state.messages;
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

async function checkpoint(w: World, name = "default"): Promise<StreamPoint> {
  const result = await w.db.pool.query<{ transaction_id: string; position: string }>(READ_CHECKPOINT_SQL, [
    name,
  ]);
  return result.rows[0] === undefined ? ORIGIN : checkpointOf(result.rows[0]);
}

/** The stream holds exactly `expected`, once each, in order. */
async function expectStreamed(w: World, expected: readonly Appended[]): Promise<StreamEntry[]> {
  const entries = await streamed(w.names);
  expect(entries.map((e) => e.event.eventId)).toEqual(expected.map((e) => e.eventId));
  return entries;
}

describe("outbox relay", () => {
  test("publishes each committed event once, in (transaction id, position) order, whatever the commit order", async () => {
    const w = await world();
    const early = await append(w.db.pool, 2);
    const a = await w.db.pool.connect();
    const b = await w.db.pool.connect();
    try {
      await a.query("BEGIN");
      const [a1] = await append(a); // A takes its xid first...
      await b.query("BEGIN");
      const [b1] = await append(b); // ...B draws a later position and commits first...
      await b.query("COMMIT");
      const relay = await start(w);
      await waitFor("the early events", async () => (await streamedCount(w.names)) >= 2);
      await Bun.sleep(300); // a few polls: B stays held back while A runs
      expect(await streamedCount(w.names)).toBe(2);

      const [a2] = await append(a); // ...then A appends past B and commits last.
      await a.query("COMMIT");
      const order = [...early, a1!, a2!, b1!];
      await waitFor("every event", async () => (await streamedCount(w.names)) >= order.length);

      expect(a2!.point.position).toBeGreaterThan(b1!.point.position);
      const entries = await expectStreamed(w, order);
      for (const [i, { subject, event, header }] of entries.entries()) {
        expect(subject).toBe(w.names.eventSubject("user.created"));
        expect(decodeToken(event.token)).toEqual(order[i]!.point);
        expect(header(PUBLISHED_EVENT_HEADERS.token)).toBe(event.token);
        expect(header(PUBLISHED_EVENT_HEADERS.position)).toBe(event.position);
        expect(header(PUBLISHED_EVENT_HEADERS.transactionId)).toBe(event.transactionId);
        expect(header(PUBLISHED_EVENT_HEADERS.aggregateId)).toBe(event.aggregateId);
        expect(header(PUBLISHED_EVENT_HEADERS.aggregateVersion)).toBe("1");
        expect(header(PUBLISHED_EVENT_HEADERS.committedAt)).toBe(event.committedAt);
        expect(header("Nats-Msg-Id")).toBe(event.eventId);
        expect(event).toMatchObject({
          type: "user.created",
          aggregateType: "user",
          metadata: { command_id: "c" },
        });
      }
      expect(await checkpoint(w)).toEqual(b1!.point);
      await waitFor("the relay's own view", () => comparePoints(relay.published(), b1!.point) === 0, 2_000);
      const unpublished = await w.db.pool.query(
        "SELECT 1 FROM events WHERE NOT event_published(transaction_id, position)",
      );
      expect(unpublished.rowCount).toBe(0);
    } finally {
      await a.query("ROLLBACK").catch(() => {});
      a.release();
      b.release();
    }
  }, 60_000);

  test("a write transaction in another database of the server does not hold the relay back", async () => {
    const w = await world();
    const other = await world(false);
    const foreign = await other.db.pool.connect();
    try {
      // Transaction ids and snapshots span the server: this one's xid is below every later event's here.
      await foreign.query("BEGIN");
      await foreign.query("SELECT pg_current_xact_id()");
      await start(w);
      const events = await append(w.db.pool, 3);
      await waitFor(
        "the events, while the other database's transaction still runs",
        async () => {
          return (await streamedCount(w.names)) >= 3;
        },
        5_000,
      );
      await expectStreamed(w, events);
      expect(await checkpoint(w)).toEqual(events.at(-1)!.point);
    } finally {
      await foreign.query("ROLLBACK").catch(() => {});
      foreign.release();
    }
  }, 30_000);

  test("a relay stopped mid-way, or one that died before checkpointing, resumes without duplicates", async () => {
    const w = await world();
    const events = [
      ...(await append(w.db.pool, 10)),
      ...(await append(w.db.pool, 10)),
      ...(await append(w.db.pool, 10)),
    ];
    const firstBatch = Promise.withResolvers<void>();
    const first = await start(w, { batchSize: 4, onPublished: () => firstBatch.resolve() });
    await firstBatch.promise;
    await first.stop();
    const stoppedAt = await checkpoint(w);
    const done = events.filter((e) => comparePoints(e.point, stoppedAt) <= 0);
    expect(done.length).toBeGreaterThanOrEqual(4);
    expect(done.length).toBeLessThan(events.length - 3);
    await expectStreamed(w, done);

    // A relay that published the next three and died before its checkpoint moved.
    const next = selectBatchQuery(stoppedAt, 3);
    const rows = batchRows((await w.db.pool.query<BatchRow>(next.text, next.values)).rows);
    const publisher = createAckedPublisher(nats.nc);
    expect((await publishBatch(publisher, w.names, rows.map(toPublishedEvent))).published).toHaveLength(3);
    publisher.close();
    expect(await checkpoint(w)).toEqual(stoppedAt);

    const second = await start(w, { batchSize: 4 });
    const last = events.at(-1)!.point;
    await waitFor("the rest", async () => comparePoints(await checkpoint(w), last) === 0);
    await expectStreamed(w, events);
    await second.stop();
  }, 60_000);

  test("of two relays only one leads; events go out once; the standby takes over when the leader stops", async () => {
    const w = await world();
    const [r1, r2] = await Promise.all([start(w), start(w)]);
    expect([r1!.isLeader(), r2!.isLeader()].filter(Boolean)).toHaveLength(1);
    const [leader, standby] = r1!.isLeader() ? [r1!, r2!] : [r2!, r1!];

    const before = await append(w.db.pool, 5);
    await waitFor("the first events", async () => (await streamedCount(w.names)) >= 5);
    expect(standby.isLeader()).toBe(false);
    expect(comparePoints(standby.published(), ORIGIN)).toBe(0);

    await leader.stop();
    await waitFor("the standby to lead", () => standby.isLeader(), 5_000);
    const after = await append(w.db.pool, 5);
    await waitFor("the later events", async () => (await streamedCount(w.names)) >= 10);
    await Bun.sleep(200);
    await expectStreamed(w, [...before, ...after]);
  }, 60_000);

  test("when the leader's connection dies the lock frees at once and publishing goes on", async () => {
    const w = await world();
    const { log, lines } = captureLogs();
    const [r1, r2] = await Promise.all([start(w, { log }), start(w, { log })]);
    const before = await append(w.db.pool, 3);
    await waitFor("the first events", async () => (await streamedCount(w.names)) >= 3);

    const killed = await w.db.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    expect(killed.rowCount).toBe(1);
    await waitFor(
      "the loss to be seen",
      () => lines.some((l) => l.msg === "outbox relay lost its database connection"),
      5_000,
    );
    await waitFor("a new leader", () => r1!.isLeader() !== r2!.isLeader(), 5_000);
    const after = await append(w.db.pool, 3);
    await waitFor("the later events", async () => (await streamedCount(w.names)) >= 6);
    await Bun.sleep(200);
    await expectStreamed(w, [...before, ...after]);
  }, 60_000);

  test("a NOTIFY wakes the leader long before its next poll", async () => {
    const w = await world();
    const relay = await start(w, { pollMs: 10_000 });
    expect(relay.isLeader()).toBe(true);
    await Bun.sleep(200); // let the first round find nothing and go to sleep for 10 s
    const started = Date.now();
    const [event] = await append(w.db.pool);
    await w.db.pool.query("SELECT pg_notify('clone_outbox', '')");
    await waitFor("the event", async () => (await streamedCount(w.names)) >= 1, 8_000);
    expect(Date.now() - started).toBeLessThan(5_000);
    await expectStreamed(w, [event!]);
  }, 30_000);

  test("while JetStream refuses, the checkpoint stays and nothing is skipped; then everything goes out once", async () => {
    const w = await world(false);
    const { log, lines } = captureLogs();
    await start(w, { maxBackoffMs: 300, log });
    const events = [...(await append(w.db.pool, 3)), ...(await append(w.db.pool, 3))];
    await waitFor(
      "failed rounds",
      () => lines.filter((l) => l.msg.includes("round failed")).length >= 2,
      10_000,
    );
    expect(await checkpoint(w)).toEqual(ORIGIN);

    await ensureStreams(jsm, w.prefix);
    await waitFor("every event", async () => comparePoints(await checkpoint(w), events.at(-1)!.point) === 0);
    await expectStreamed(w, events);
  }, 60_000);

  test("a relay with a bad batch size is refused", async () => {
    const prefix = `${nats.prefix}_unused`;
    const start = startOutboxRelay({
      databaseUrl: "postgres://x@127.0.0.1/x",
      nc: nats.nc,
      prefix,
      batchSize: 0,
    });
    await expect(start).rejects.toThrow(ConfigError);
  });
});
