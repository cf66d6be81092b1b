/**
 * The metrics endpoint of a process, scraped over HTTP, with the scrape-time gauges reading real Postgres
 * (outbox backlog) and real JetStream (consumer pending). Own database and NATS prefix.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { createTestDatabase, createTestNats, type TestDatabase, type TestNats } from "../testing";
import { ensureStreams, streamNames } from "../transport/jetstream/streams";
import { createMetrics, type Metrics } from "./create-metrics";
import { findSamples, parseExposition } from "./parse-exposition";
import { type MetricsServer, startMetricsServer } from "./server";

let db: TestDatabase;
let nats: TestNats;
let jsm: JetStreamManager;
let metrics: Metrics;
let server: MetricsServer;
let ready = true;

beforeAll(async () => {
  db = await createTestDatabase();
  nats = await createTestNats();
  jsm = await jetstreamManager(nats.nc);
  await ensureStreams(jsm, nats.prefix);
  metrics = createMetrics({ role: "relay" });
  metrics.outbox.trackBacklog(db.pool, { timeoutMs: 2_000 });
  const names = streamNames(nats.prefix);
  metrics.jetstream.trackConsumers(jsm, [names.eventStream, names.commandStream]);
  server = await startMetricsServer({
    port: 0,
    hostname: "127.0.0.1",
    registry: metrics.registry,
    health: async () => ({ ok: ready, details: { leader: ready } }),
  });
});

afterAll(async () => {
  await server?.stop();
  await nats?.cleanup();
  await db?.drop();
});

async function scrapeOverHttp() {
  const res = await fetch(`${server.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parseExposition(await res.text());
}

async function appendEvents(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await db.pool.query(
      `INSERT INTO events (aggregate_type, aggregate_id, aggregate_version, type)
       VALUES ('user', $1, 1, 'user.created')`,
      [crypto.randomUUID()],
    );
  }
}

/** Moves the `default` relay's checkpoint to the event `back` events before the newest (0: the newest). */
async function publishUpTo(back: number): Promise<void> {
  await db.pool.query(
    `INSERT INTO outbox_relay_state (name, last_published_transaction_id, last_published_position)
     SELECT 'default', transaction_id, position FROM events
      ORDER BY transaction_id DESC, position DESC OFFSET $1 LIMIT 1
     ON CONFLICT (name) DO UPDATE SET last_published_transaction_id = EXCLUDED.last_published_transaction_id,
                                     last_published_position = EXCLUDED.last_published_position`,
    [back],
  );
}

describe("startMetricsServer", () => {
  test("binds a free port when asked for port 0", () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  test("/metrics is Prometheus text with the role label, process metrics and the service's histograms", async () => {
    metrics.outbox.published([{ type: "user.created", committedAt: new Date().toISOString() }]);
    metrics.events.observe("document-processor", "document.uploaded", 0.004);
    const e = await scrapeOverHttp();
    expect(e.types.get("clone_event_processing_seconds")).toBe("histogram");
    expect(e.types.get("clone_outbox_published_total")).toBe("counter");
    expect(findSamples(e, "process_cpu_seconds_total", { role: "relay" })).toHaveLength(1);
    expect(
      findSamples(e, "clone_outbox_published_total", { role: "relay", event_type: "user.created" }),
    ).toEqual([
      {
        name: "clone_outbox_published_total",
        labels: { role: "relay", event_type: "user.created" },
        value: 1,
      },
    ]);
    const buckets = findSamples(e, "clone_event_processing_seconds_bucket", {
      consumer: "document-processor",
    });
    expect(buckets.map((b) => b.labels.le)).toEqual([
      "0.0005",
      "0.001",
      "0.0025",
      "0.005",
      "0.01",
      "0.025",
      "0.05",
      "0.1",
      "0.25",
      "0.5",
      "1",
      "2.5",
      "5",
      "10",
      "30",
      "+Inf",
    ]);
    expect(buckets.find((b) => b.labels.le === "0.005")?.value).toBe(1);
  });

  test("clone_outbox_backlog counts the unpublished events in Postgres at each scrape", async () => {
    expect(findSamples(await scrapeOverHttp(), "clone_outbox_backlog")[0]?.value).toBe(0);
    await appendEvents(5);
    expect(findSamples(await scrapeOverHttp(), "clone_outbox_backlog")[0]?.value).toBe(5);
    await publishUpTo(3);
    expect(findSamples(await scrapeOverHttp(), "clone_outbox_backlog")[0]?.value).toBe(3);
    await publishUpTo(0);
    expect(findSamples(await scrapeOverHttp(), "clone_outbox_backlog")[0]?.value).toBe(0);
  });

  test("clone_jetstream_consumer_pending reports a durable consumer's pending messages", async () => {
    const names = streamNames(nats.prefix);
    await jsm.consumers.add(names.eventStream, {
      durable_name: "metrics-probe",
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
    });
    const js = jetstream(nats.nc);
    for (let i = 0; i < 5; i++) await js.publish(names.eventSubject("user.created"), new Uint8Array([i]));
    const e = await scrapeOverHttp();
    const labels = { stream: names.eventStream, consumer: "metrics-probe" };
    expect(findSamples(e, "clone_jetstream_consumer_pending", labels)[0]?.value).toBe(5);
    expect(findSamples(e, "clone_jetstream_consumer_ack_pending", labels)[0]?.value).toBe(0);
    expect(findSamples(e, "clone_metrics_collect_failures_total")).toEqual([]);
  });

  test("/healthz answers while alive; /readyz follows the health check", async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    let res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, details: { leader: true } });
    ready = false;
    res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ok: false, details: { leader: false } });
    ready = true;
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
  });

  test("stop() frees the port", async () => {
    const other = await startMetricsServer({ port: 0, hostname: "127.0.0.1", registry: metrics.registry });
    expect(other.port).not.toBe(server.port);
    await other.stop();
    await expect(fetch(`${other.url}/metrics`)).rejects.toThrow();
  });
});
