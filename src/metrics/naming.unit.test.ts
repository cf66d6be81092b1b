import { describe, expect, test } from "bun:test";
import { createMetrics } from "./create-metrics";
import { describeMetrics, lintMetric, lintRegistry } from "./lint";
import { createTrackedMetrics, scrape } from "./metrics.testkit";
import { findSamples } from "./parse-exposition";

/** The metrics the dashboards and alerts rely on: name, type and labels. */
const expected: Record<string, { type: string; labels: string[] }> = {
  clone_command_duration_seconds: { type: "histogram", labels: ["command_type", "outcome"] },
  clone_command_execution_seconds: { type: "histogram", labels: ["command_type", "outcome"] },
  clone_command_failures_total: { type: "counter", labels: ["command_type", "code"] },
  clone_query_duration_seconds: { type: "histogram", labels: ["query_type", "cache"] },
  clone_query_cache_hits_total: { type: "counter", labels: ["query_type"] },
  clone_query_cache_misses_total: { type: "counter", labels: ["query_type"] },
  clone_query_cache_refreshes_total: { type: "counter", labels: ["query_type", "reason"] },
  clone_query_fallbacks_total: { type: "counter", labels: ["query", "reason"] },
  clone_query_cache_entries: { type: "gauge", labels: [] },
  clone_query_cache_bytes: { type: "gauge", labels: [] },
  clone_read_replica_lag_seconds: { type: "gauge", labels: [] },
  clone_view_refresh_duration_seconds: { type: "histogram", labels: ["view", "mode"] },
  clone_view_refresh_failures_total: { type: "counter", labels: ["view", "mode"] },
  clone_view_refresh_rows_total: { type: "counter", labels: ["view"] },
  clone_view_drift_rows_total: { type: "counter", labels: ["view"] },
  clone_view_reconcile_keys_total: { type: "counter", labels: ["view"] },
  clone_view_reconcile_deferrals_total: { type: "counter", labels: [] },
  clone_consistency_lag_seconds: { type: "histogram", labels: ["view"] },
  clone_event_processing_seconds: { type: "histogram", labels: ["consumer", "event_type"] },
  clone_event_processing_failures_total: { type: "counter", labels: ["consumer", "event_type"] },
  clone_outbox_published_total: { type: "counter", labels: ["event_type"] },
  clone_outbox_publish_delay_seconds: { type: "histogram", labels: [] },
  clone_outbox_backlog: { type: "gauge", labels: [] },
  clone_dead_letters: { type: "gauge", labels: ["source"] },
  clone_command_store_rows: { type: "gauge", labels: ["table"] },
  clone_command_store_bytes: { type: "gauge", labels: ["table"] },
  clone_command_store_pruned_rows_total: { type: "counter", labels: ["table"] },
  clone_jetstream_consumer_pending: { type: "gauge", labels: ["stream", "consumer"] },
  clone_jetstream_consumer_ack_pending: { type: "gauge", labels: ["stream", "consumer"] },
  clone_rpc_duration_seconds: { type: "histogram", labels: ["service", "method", "code"] },
  clone_rpc_in_flight: { type: "gauge", labels: ["service", "method"] },
  clone_metrics_collect_failures_total: { type: "counter", labels: ["collector"] },
};

describe("metric names", () => {
  const metrics = createTrackedMetrics({ defaultMetrics: true });

  test("every clone_ metric follows the Prometheus naming conventions", () => {
    expect(lintRegistry(metrics.registry)).toEqual([]);
  });

  test("the registry holds exactly the expected metrics, types and labels", () => {
    const own = describeMetrics(metrics.registry).filter((m) => m.name.startsWith("clone_"));
    const actual = Object.fromEntries(own.map((m) => [m.name, { type: m.type, labels: [...m.labelNames] }]));
    expect(actual).toEqual(expected);
  });

  test("process and runtime metrics are collected under their standard names", () => {
    const names = describeMetrics(metrics.registry).map((m) => m.name);
    expect(names).toContain("process_cpu_seconds_total");
    expect(names).toContain("process_resident_memory_bytes");
    expect(names).toContain("nodejs_heap_size_used_bytes");
  });

  test("defaultMetrics: false leaves them out", () => {
    const bare = createMetrics({ role: "test", defaultMetrics: false });
    expect(describeMetrics(bare.registry).every((m) => m.name.startsWith("clone_"))).toBe(true);
  });

  test("every series carries the role label", async () => {
    metrics.commands.observe("CreateUser", "ok", 0.01);
    const exposition = await scrape(metrics);
    expect(exposition.samples.length).toBeGreaterThan(0);
    expect(exposition.samples.filter((s) => s.labels.role !== "test")).toEqual([]);
    expect(findSamples(exposition, "clone_command_duration_seconds_count")).toEqual([
      {
        name: "clone_command_duration_seconds_count",
        labels: { role: "test", command_type: "CreateUser", outcome: "ok" },
        value: 1,
      },
    ]);
  });

  test("scrape-time gauges appear only where something feeds them", async () => {
    const bare = createMetrics({ role: "gateway", defaultMetrics: false });
    const names = () => describeMetrics(bare.registry).map((m) => m.name);
    expect(names()).not.toContain("clone_outbox_backlog");
    expect(names()).not.toContain("clone_query_cache_entries");
    expect(names()).not.toContain("clone_jetstream_consumer_pending");
    const stop = bare.queries.trackCache(() => ({ entries: 3, bytes: 300 }));
    const stopOther = bare.queries.trackCache(() => ({ entries: 1, bytes: 100 }));
    const exposition = await scrape(bare);
    expect(findSamples(exposition, "clone_query_cache_entries")[0]?.value).toBe(4);
    expect(findSamples(exposition, "clone_query_cache_bytes")[0]?.value).toBe(400);
    stop();
    expect(names()).toContain("clone_query_cache_entries");
    stopOther();
    expect(names()).not.toContain("clone_query_cache_entries");
  });
});

describe("the naming lint", () => {
  const lint = (name: string, type: string, labelNames: string[] = []) =>
    lintMetric({ name, type, help: "help", labelNames });

  test("accepts conventional names", () => {
    expect(lint("clone_x_total", "counter")).toEqual([]);
    expect(lint("clone_x_seconds", "histogram", ["view"])).toEqual([]);
    expect(lint("clone_x_bytes", "histogram")).toEqual([]);
    expect(lint("clone_x_entries", "gauge")).toEqual([]);
  });

  test("rejects counters without _total, and _total on anything else", () => {
    expect(lint("clone_failures", "counter")).toEqual(["clone_failures: is a counter not ending in _total"]);
    expect(lint("clone_pending_total", "gauge")).toEqual([
      "clone_pending_total: is a gauge ending in _total",
    ]);
  });

  test("rejects histograms without a base unit and non-base units", () => {
    expect(lint("clone_latency", "histogram")).toEqual(["clone_latency: is a histogram without a base unit"]);
    expect(lint("clone_latency_ms", "gauge")).toEqual(["clone_latency_ms: uses a non-base unit"]);
  });

  test("rejects a missing prefix, bad casing, reserved labels and summaries", () => {
    expect(lint("x_total", "counter")).toEqual(["x_total: does not start with clone_"]);
    expect(lint("clone_Bad_total", "counter")).toEqual(["clone_Bad_total: is not snake_case"]);
    expect(lint("clone_x_total", "counter", ["le", "badLabel"])).toEqual([
      "clone_x_total: label le is reserved",
      "clone_x_total: label badLabel is not snake_case",
    ]);
    expect(lint("clone_x_seconds", "summary")).toEqual([
      "clone_x_seconds: is a summary: use a histogram (aggregatable across instances)",
    ]);
  });
});
