/**
 * Checks a registry against the Prometheus naming conventions (https://prometheus.io/docs/practices/naming/),
 * for the service's own metrics (those named `clone_...`): snake_case names and labels, counters ending in
 * `_total` and nothing else ending so, histograms carrying a base unit (`_seconds` or `_bytes`), a help text.
 */
import type { Registry } from "prom-client";

/** The prefix of the service's own metrics. */
export const metricPrefix = "clone_";

/** A metric as the lint sees it. */
export interface MetricDescription {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly labelNames: readonly string[];
}

/** The metrics of a registry, with their types and label names (no collect() is run). */
export function describeMetrics(registry: Registry): MetricDescription[] {
  return registry.getMetricsAsArray().map((m) => {
    const raw = m as unknown as { name: string; type: unknown; help: string; labelNames?: readonly string[] };
    return { name: raw.name, type: String(raw.type), help: raw.help, labelNames: raw.labelNames ?? [] };
  });
}

const snakeCase = /^[a-z][a-z0-9_]*$/;
const reservedLabels = new Set(["le", "quantile", "job", "instance"]);

/** The problems of one metric; empty when it follows the conventions. */
export function lintMetric(m: MetricDescription): string[] {
  const problems: string[] = [];
  const say = (problem: string) => problems.push(`${m.name}: ${problem}`);
  if (!m.name.startsWith(metricPrefix)) say(`does not start with ${metricPrefix}`);
  if (!snakeCase.test(m.name) || m.name.includes("__")) say("is not snake_case");
  if (m.help.trim() === "") say("has no help text");
  if (m.type === "counter" && !m.name.endsWith("_total")) say("is a counter not ending in _total");
  if (m.type !== "counter" && m.name.endsWith("_total")) say(`is a ${m.type} ending in _total`);
  if (m.type === "histogram" && !/_(seconds|bytes)$/.test(m.name)) say("is a histogram without a base unit");
  if (m.type === "summary") say("is a summary: use a histogram (aggregatable across instances)");
  if (/_(milliseconds|ms|millis|kilobytes|kb|mb|minutes|hours)(_|$)/.test(m.name))
    say("uses a non-base unit");
  for (const label of m.labelNames) {
    if (!snakeCase.test(label)) say(`label ${label} is not snake_case`);
    if (reservedLabels.has(label) || label.startsWith("__")) say(`label ${label} is reserved`);
  }
  return problems;
}

/** The problems of every `clone_` metric in `registry`. */
export function lintRegistry(registry: Registry): string[] {
  return describeMetrics(registry)
    .filter((m) => m.name.startsWith(metricPrefix))
    .flatMap(lintMetric);
}
