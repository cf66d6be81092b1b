/**
 * Reads the PromQL of the ops files (the Grafana dashboard and the Prometheus alert rules) so that tests can
 * check every expression against the metrics this code defines, and CI can have Prometheus' own parser check
 * the dashboard's expressions: `bun src/metrics/ops-files.ts --rules > x.yml && promtool check rules x.yml`.
 */
import { readFileSync } from "node:fs";

/** The ops folder of the repository. */
export const opsDir = new URL("../../ops/", import.meta.url);

/** One PromQL expression and where it comes from. */
export interface OpsQuery {
  /** `dashboard` or `alerts`. */
  readonly source: "dashboard" | "alerts";
  /** Panel title and target ref, or alert name. */
  readonly where: string;
  /** A name for it as a recording rule (`dashboard:panel_7:A`). */
  readonly record: string;
  readonly expr: string;
}

interface Panel {
  readonly id?: number;
  readonly title?: string;
  readonly type?: string;
  readonly panels?: readonly Panel[];
  readonly targets?: readonly { readonly expr?: string; readonly refId?: string }[];
}

/** The dashboard JSON, parsed. */
export function readDashboard(): { readonly panels: readonly Panel[] } & Record<string, unknown> {
  return JSON.parse(readFileSync(new URL("grafana/dashboards/clone.json", opsDir), "utf8"));
}

/** Every panel of the dashboard, those inside rows included. */
export function dashboardPanels(): Panel[] {
  const walk = (panels: readonly Panel[]): Panel[] => panels.flatMap((p) => [p, ...walk(p.panels ?? [])]);
  return walk(readDashboard().panels);
}

/** Grafana's variables, replaced by values Prometheus accepts. */
const grafanaVariables: Readonly<Record<string, string>> = {
  $__rate_interval: "1m",
  $__interval: "1m",
  $__range: "1h",
};

/** The expression with Grafana's variables replaced, as Prometheus receives it. */
export function withGrafanaVariables(expr: string): string {
  return Object.entries(grafanaVariables).reduce((e, [name, value]) => e.replaceAll(name, value), expr);
}

/** The PromQL of every dashboard target. */
export function dashboardQueries(): OpsQuery[] {
  return dashboardPanels().flatMap((panel) =>
    (panel.targets ?? []).flatMap((t) =>
      t.expr === undefined
        ? []
        : [
            {
              source: "dashboard" as const,
              where: `${panel.title ?? "?"} / ${t.refId ?? "?"}`,
              record: `dashboard:panel_${panel.id ?? 0}:${t.refId ?? "X"}`,
              expr: withGrafanaVariables(t.expr),
            },
          ],
    ),
  );
}

/** The alert rules file, parsed. */
export function readAlertRules(): {
  readonly groups: readonly {
    readonly name: string;
    readonly rules: readonly { readonly alert?: string; readonly record?: string; readonly expr: string }[];
  }[];
} {
  return Bun.YAML.parse(readFileSync(new URL("prometheus/alerts.yml", opsDir), "utf8")) as ReturnType<
    typeof readAlertRules
  >;
}

/** The PromQL of every alert rule. */
export function alertQueries(): OpsQuery[] {
  return readAlertRules().groups.flatMap((g) =>
    g.rules.map((r) => ({
      source: "alerts" as const,
      where: r.alert ?? r.record ?? "?",
      record: `alerts:${r.alert ?? r.record ?? "rule"}`,
      expr: r.expr.trim(),
    })),
  );
}

/** A rules file holding `queries` as recording rules, for `promtool check rules` (it parses every expr). */
export function toRuleFile(queries: readonly OpsQuery[]): string {
  const rules = queries
    .map((q) => `      - record: ${JSON.stringify(q.record)}\n        expr: ${JSON.stringify(q.expr)}\n`)
    .join("");
  return `groups:\n  - name: dashboard-queries\n    rules:\n${rules}`;
}

if (import.meta.main) {
  if (!process.argv.includes("--rules")) {
    console.error("usage: bun src/metrics/ops-files.ts --rules > dashboard-rules.yml");
    process.exit(2);
  }
  process.stdout.write(toRuleFile(dashboardQueries()));
}
