import { describe, expect, test } from "bun:test";
import type { ConsumerInfo, JetStreamManager } from "@nats-io/jetstream";
import { READ_CHECKPOINT_SQL, UNPUBLISHED_WHERE } from "../outbox/sql";
import { createMetrics } from "./create-metrics";
import { fakeBacklogDatabase, fakeJetStreamManager, scrape } from "./metrics.testkit";
import { findSamples } from "./parse-exposition";
import { createMetricsHandler } from "./server";

const fresh = () => createMetrics({ role: "test", defaultMetrics: false });

describe("outbox backlog gauge", () => {
  test("reads the count at scrape time", async () => {
    const m = fresh();
    m.outbox.trackBacklog(fakeBacklogDatabase(42));
    expect(findSamples(await scrape(m), "clone_outbox_backlog")[0]?.value).toBe(42);
  });

  test("a count that does not answer in time is NaN and a collect failure, and the scrape goes on", async () => {
    const m = fresh();
    m.outbox.trackBacklog(fakeBacklogDatabase(undefined), { timeoutMs: 20 });
    m.commands.observe("CreateUser", "ok", 0.001);
    const started = performance.now();
    const e = await scrape(m);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(findSamples(e, "clone_outbox_backlog")[0]?.value).toBeNaN();
    // The counter is written out while the collector still runs: a failure shows in the next scrape.
    expect(
      findSamples(await scrape(m), "clone_metrics_collect_failures_total", {
        collector: "clone_outbox_backlog",
      })[0]?.value,
    ).toBe(1);
    expect(findSamples(e, "clone_command_duration_seconds_count")[0]?.value).toBe(1);
  });

  test("the count runs read-only under a statement timeout, and the connection goes back", async () => {
    const m = fresh();
    const statements: string[] = [];
    let released = 0;
    m.outbox.trackBacklog(
      {
        async connect() {
          return {
            async query(text: string) {
              statements.push(text);
              return { rows: text.startsWith("SELECT") ? [{ n: "7" }] : [] };
            },
            release() {
              released += 1;
            },
          };
        },
      },
      { timeoutMs: 500 },
    );
    expect(findSamples(await scrape(m), "clone_outbox_backlog")[0]?.value).toBe(7);
    // The relay's checkpoint first, then the count from it (planned with its values).
    expect(statements).toEqual([
      "BEGIN READ ONLY",
      "SET LOCAL statement_timeout = 500",
      READ_CHECKPOINT_SQL,
      `SELECT count(*)::bigint AS n FROM events e WHERE ${UNPUBLISHED_WHERE}`,
      "COMMIT",
    ]);
    expect(released).toBe(1);
  });
});

describe("JetStream consumer gauges", () => {
  const info = (stream: string, name: string, pending: number, ackPending: number) => ({
    stream_name: stream,
    name,
    num_pending: pending,
    num_ack_pending: ackPending,
  });

  test("report pending and ack-pending per stream and consumer of the tracked streams", async () => {
    const m = fresh();
    const jsm = fakeJetStreamManager([
      info("clone_COMMANDS", "cmd-0", 3, 1),
      info("clone_EVENTS", "document-processor", 10, 2),
      info("other_EVENTS", "x", 99, 0),
    ]);
    m.jetstream.trackConsumers(jsm, ["clone_COMMANDS", "clone_EVENTS"]);
    const e = await scrape(m);
    const rows = (name: string) =>
      findSamples(e, name).map((s) => [s.labels.stream, s.labels.consumer, s.value]);
    expect(rows("clone_jetstream_consumer_pending")).toEqual([
      ["clone_COMMANDS", "cmd-0", 3],
      ["clone_EVENTS", "document-processor", 10],
    ]);
    expect(rows("clone_jetstream_consumer_ack_pending")).toEqual([
      ["clone_COMMANDS", "cmd-0", 1],
      ["clone_EVENTS", "document-processor", 2],
    ]);
  });

  test("lists once per scrape, and forgets consumers that are gone", async () => {
    const m = fresh();
    let consumers = [info("s", "a", 1, 0), info("s", "b", 2, 0)];
    let listings = 0;
    const jsm = {
      consumers: {
        list: () => {
          listings += 1;
          return fakeJetStreamManager(consumers).consumers.list("s");
        },
      },
    } as unknown as Pick<JetStreamManager, "consumers">;
    m.jetstream.trackConsumers(jsm, ["s"]);
    expect(findSamples(await scrape(m), "clone_jetstream_consumer_pending")).toHaveLength(2);
    expect(listings).toBe(1);
    consumers = [info("s", "b", 5, 0)];
    const e = await scrape(m);
    expect(
      findSamples(e, "clone_jetstream_consumer_pending").map((s) => [s.labels.consumer, s.value]),
    ).toEqual([["b", 5]]);
    expect(listings).toBe(2);
  });

  test("a stream that cannot be listed is a collect failure; the others are still reported", async () => {
    const m = fresh();
    const good = fakeJetStreamManager([info("ok", "c", 4, 0)]);
    const jsm = {
      consumers: {
        list: (stream: string) => {
          if (stream === "missing") {
            return {
              next: async () => [],
              [Symbol.asyncIterator]: () => ({
                next: async (): Promise<IteratorResult<ConsumerInfo>> => {
                  throw new Error("stream not found");
                },
              }),
            };
          }
          return good.consumers.list(stream);
        },
      },
    } as unknown as Pick<JetStreamManager, "consumers">;
    m.jetstream.trackConsumers(jsm, ["missing", "ok"]);
    const e = await scrape(m);
    expect(findSamples(e, "clone_jetstream_consumer_pending").map((s) => s.value)).toEqual([4]);
    const next = await scrape(m);
    expect(findSamples(next, "clone_metrics_collect_failures_total")[0]?.value).toBe(1);
  });
});

describe("createMetricsHandler", () => {
  const get = (handler: ReturnType<typeof createMetricsHandler>, path: string, method = "GET") =>
    handler(new Request(`http://localhost${path}`, { method }));

  test("answers /metrics with the registry's content type, and nothing else but health", async () => {
    const m = fresh();
    const handler = createMetricsHandler({ registry: m.registry });
    const res = await get(handler, "/metrics");
    expect(res?.status).toBe(200);
    expect(res?.headers.get("content-type")).toBe(m.registry.contentType);
    expect(await res?.text()).toContain("# TYPE clone_command_duration_seconds histogram");
    expect(await get(handler, "/other")).toBeUndefined();
    expect((await get(handler, "/metrics", "POST"))?.status).toBe(405);
  });

  test("/healthz is liveness; /readyz runs the health check (503 when not ok, failing or slow)", async () => {
    const m = fresh();
    let report: { ok: boolean; details?: Record<string, unknown> } = { ok: true, details: { leader: true } };
    let mode: "report" | "throw" | "hang" = "report";
    const handler = createMetricsHandler({
      registry: m.registry,
      healthTimeoutMs: 50,
      health: async () => {
        if (mode === "throw") throw new Error("database unreachable");
        if (mode === "hang") await new Promise(() => {});
        return report;
      },
    });
    expect((await get(handler, "/healthz"))?.status).toBe(200);
    let res = await get(handler, "/readyz");
    expect(res?.status).toBe(200);
    expect(await res?.json()).toEqual({ ok: true, details: { leader: true } });
    report = { ok: false, details: { nats: "disconnected" } };
    expect((await get(handler, "/readyz"))?.status).toBe(503);
    mode = "throw";
    res = await get(handler, "/readyz");
    expect(res?.status).toBe(503);
    expect(await res?.json()).toEqual({ ok: false, details: { error: "database unreachable" } });
    mode = "hang";
    expect((await get(handler, "/readyz"))?.status).toBe(503);
    expect((await get(handler, "/healthz"))?.status).toBe(200);
  });
});
