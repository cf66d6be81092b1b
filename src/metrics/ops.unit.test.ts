/**
 * The ops files against the code: every metric a dashboard panel or an alert names exists with the labels
 * it groups or filters by, counters and histograms are only read through rate()/increase(), and the
 * dashboard has the panels the architecture's Monitoring section asks for.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { describeMetrics, type MetricDescription } from "./lint";
import { createTrackedMetrics } from "./metrics.testkit";
import {
  alertQueries,
  dashboardPanels,
  dashboardQueries,
  type OpsQuery,
  opsDir,
  readAlertRules,
  readDashboard,
  toRuleFile,
} from "./ops-files";

/** `${name}`, Grafana's reference to a dashboard variable. */
const grafanaVariable = (name: string) => `\${${name}}`;
const metrics = new Map(describeMetrics(createTrackedMetrics().registry).map((m) => [m.name, m]));
/** Labels every series has: the registry's default label and Prometheus' target labels. */
const targetLabels = ["role", "job", "instance"];
/** Metrics of Prometheus itself that queries may use. */
const prometheusMetrics = new Set(["up"]);

/** A metric named in an expression: which definition, which series (`_bucket`, ...), read through rate()? */
interface Use {
  readonly series: string;
  readonly metric: MetricDescription | undefined;
  readonly suffix: "" | "_bucket" | "_sum" | "_count";
  readonly inRate: boolean;
}

function usesIn(expr: string): Use[] {
  const code = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const uses: Use[] = [];
  for (const m of code.matchAll(/(?<![\w:])(clone_[a-z0-9_]+)/g)) {
    const series = m[1] ?? "";
    const before = code.slice(0, m.index).trimEnd();
    const inRate = /(?:rate|increase|irate)\($/.test(before);
    const base = /^(.*)(_bucket|_sum|_count)$/.exec(series);
    const histogram = base ? metrics.get(base[1] ?? "") : undefined;
    if (base && histogram?.type === "histogram") {
      uses.push({ series, metric: histogram, suffix: base[2] as Use["suffix"], inRate });
    } else uses.push({ series, metric: metrics.get(series), suffix: "", inRate });
  }
  return uses;
}

/** Label names an expression groups by or matches on. */
function labelsIn(expr: string): string[] {
  const code = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const grouped = [...code.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) =>
    (m[1] ?? "").split(",").map((s) => s.trim()),
  );
  const matched = [...code.matchAll(/\{([^}]*)\}/g)].flatMap((m) =>
    [...(m[1] ?? "").matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1] ?? ""),
  );
  return [...grouped, ...matched].filter((l) => l !== "");
}

function problemsOf(q: OpsQuery): string[] {
  const problems: string[] = [];
  const say = (p: string) => problems.push(`${q.source} "${q.where}": ${p}`);
  const uses = usesIn(q.expr);
  const allowed = new Set([...targetLabels]);
  for (const u of uses) {
    if (u.metric === undefined) {
      say(`${u.series} is not a metric of src/metrics`);
      continue;
    }
    for (const l of u.metric.labelNames) allowed.add(l);
    if (u.suffix === "_bucket") allowed.add("le");
    const cumulative = u.metric.type === "counter" || u.metric.type === "histogram";
    if (cumulative && !u.inRate) say(`${u.series} (${u.metric.type}) is read without rate()/increase()`);
    if (!cumulative && u.inRate) say(`${u.series} (${u.metric.type}) is read with rate()/increase()`);
    if (u.metric.type === "histogram" && u.suffix === "")
      say(`${u.series} is a histogram: use _bucket/_sum/_count`);
  }
  const prometheusOnly = uses.length === 0 && [...prometheusMetrics].some((m) => q.expr.includes(m));
  if (uses.length === 0 && !prometheusOnly) say("names no metric");
  if (!prometheusOnly) {
    for (const l of labelsIn(q.expr)) if (!allowed.has(l)) say(`label ${l} is on none of its metrics`);
  }
  return problems;
}

describe("the ops files name only metrics and labels that exist", () => {
  test("the checker catches unknown metrics, labels and misuse of counters and gauges", () => {
    const check = (expr: string) => problemsOf({ source: "alerts", where: "t", record: "t", expr });
    expect(check("sum(rate(clone_command_failures_total[5m]))")).toEqual([]);
    expect(check("rate(clone_no_such_total[5m])")).toEqual([
      'alerts "t": clone_no_such_total is not a metric of src/metrics',
    ]);
    expect(check("sum by (view) (rate(clone_command_failures_total[5m]))")).toEqual([
      'alerts "t": label view is on none of its metrics',
    ]);
    expect(check("clone_command_failures_total > 0")).toEqual([
      'alerts "t": clone_command_failures_total (counter) is read without rate()/increase()',
    ]);
    expect(check("rate(clone_outbox_backlog[5m])")).toEqual([
      'alerts "t": clone_outbox_backlog (gauge) is read with rate()/increase()',
    ]);
    expect(
      check("histogram_quantile(0.9, sum by (le) (rate(clone_consistency_lag_seconds_bucket[5m])))"),
    ).toEqual([]);
  });

  test("every dashboard expression", () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(20);
    expect(queries.flatMap(problemsOf)).toEqual([]);
  });

  test("every alert expression", () => {
    const queries = alertQueries();
    expect(queries.map((q) => q.where)).toEqual([
      "CloneCommandFailureRateHigh",
      "CloneQueryLatencyHigh",
      "CloneQueryCacheHitRateLow",
      "CloneViewRefreshFailing",
      "CloneViewDrift",
      "CloneConsistencyLagHigh",
      "CloneReadReplicaLagHigh",
      "CloneDeadLettersWaiting",
      "CloneQueryFallbacksPersisting",
      "CloneTargetDown",
    ]);
    expect(queries.flatMap(problemsOf)).toEqual([]);
  });

  test("the dashboard's expressions make a rules file for promtool (run by .ci/run)", () => {
    const file = toRuleFile(dashboardQueries());
    const parsed = Bun.YAML.parse(file) as { groups: { rules: { record: string; expr: string }[] }[] };
    expect(parsed.groups[0]?.rules.map((r) => r.expr)).toEqual(dashboardQueries().map((q) => q.expr));
    expect(file).not.toContain("$__");
  });
});

describe("the Grafana dashboard", () => {
  const dashboard = readDashboard();
  const panels = dashboardPanels().filter((p) => p.type !== "row");

  test("is a provisionable dashboard with a stable uid and unique panel ids", () => {
    expect(dashboard.uid).toBe("clone-cqrs");
    const ids = dashboardPanels().map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.targets?.length ?? 0).toBeGreaterThan(0);
      expect((p as { datasource?: { uid?: string } }).datasource?.uid).toBe(grafanaVariable("datasource"));
    }
  });

  test("has a panel for each thing the Monitoring section tracks", () => {
    const exprsOf = (title: string) => {
      const panel = panels.find((p) => p.title === title);
      if (!panel) throw new Error(`no panel "${title}"`);
      return (panel.targets ?? []).map((t) => t.expr ?? "").join("\n");
    };
    const required: Record<string, string[]> = {
      "Command rate by type": ["clone_command_duration_seconds_count"],
      "Command latency p50 / p99 by type (gateway, end to end)": [
        "histogram_quantile(0.5",
        "histogram_quantile(0.99",
      ],
      "Command failure rate": ["clone_command_failures_total"],
      "Command execution p50 / p99 by type (worker)": ["clone_command_execution_seconds_bucket"],
      "Query latency p50 / p99 by type": ["histogram_quantile(0.5", "histogram_quantile(0.99", "query_type"],
      "Cache hit rate by query type": ["clone_query_cache_hits_total", "clone_query_cache_misses_total"],
      "View refresh duration p50 / p99 by view and mode": [
        "clone_view_refresh_duration_seconds_bucket",
        "view, mode",
      ],
      "View refresh failures": ["clone_view_refresh_failures_total"],
      "View drift rows repaired by reconciliation": ["clone_view_drift_rows_total"],
      "Dead letters waiting by source": ["clone_dead_letters", "source"],
      "Consistency lag p50 / p99 by view": [
        "histogram_quantile(0.5",
        "histogram_quantile(0.99",
        "clone_consistency_lag",
      ],
      "Read replica lag by gateway": ["clone_read_replica_lag_seconds", "instance"],
      "Event processing p50 / p99 by consumer and type": ["clone_event_processing_seconds_bucket"],
      "Outbox backlog": ["clone_outbox_backlog"],
      "Query fallbacks to the write model by query and reason": [
        "clone_query_fallbacks_total",
        "query, reason",
      ],
      "JetStream consumer pending": ["clone_jetstream_consumer_pending"],
    };
    for (const [title, fragments] of Object.entries(required)) {
      for (const fragment of fragments) expect(exprsOf(title)).toContain(fragment);
    }
  });
});

describe("provisioning", () => {
  const yaml = <T>(path: string): T => Bun.YAML.parse(readFileSync(new URL(path, opsDir), "utf8")) as T;

  test("the datasource is the Prometheus at http://prometheus:9090, with the uid the dashboard defaults to", () => {
    const file = yaml<{ datasources: { type: string; url: string; uid: string }[] }>(
      "grafana/provisioning/datasources/prometheus.yml",
    );
    expect(file.datasources).toEqual([
      expect.objectContaining({ type: "prometheus", url: "http://prometheus:9090", uid: "prometheus" }),
    ]);
    const variable = (readDashboard().templating as { list: { name: string; current: { value: string } }[] })
      .list[0];
    expect(variable?.current.value).toBe("prometheus");
  });

  test("the dashboard provider loads a file folder", () => {
    const file = yaml<{ providers: { type: string; options: { path: string } }[] }>(
      "grafana/provisioning/dashboards/dashboards.yml",
    );
    expect(file.providers[0]?.type).toBe("file");
    expect(file.providers[0]?.options.path).toBe("/var/lib/grafana/dashboards");
  });

  test("prometheus.yml scrapes the four roles and loads the alert rules", () => {
    const file = yaml<{
      rule_files: string[];
      scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[];
    }>("prometheus/prometheus.yml");
    expect(file.rule_files).toEqual(["alerts.yml"]);
    const targets = Object.fromEntries(
      file.scrape_configs
        .filter((c) => c.dns_sd_configs)
        .map((c) => [c.job_name, `${c.dns_sd_configs?.[0]?.names[0]}:${c.dns_sd_configs?.[0]?.port}`]),
    );
    expect(targets).toEqual({
      "clone-gateway": "gateway:8080",
      "clone-worker": "worker:9464",
      "clone-relay": "relay:9464",
      "clone-consistency": "consistency:9464",
    });
    expect(readAlertRules().groups.length).toBeGreaterThan(0);
  });
});
