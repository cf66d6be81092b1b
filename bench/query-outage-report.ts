/**
 * The printed result of item 5 of queries.bench.ts (query-outage.ts): a table of the reads made with the
 * consistency role stopped, one row per gateway (fallback bound), and their verdicts; and the strong-read
 * line of the latency matrix.
 */
import { AnswerSource } from "../src/gen/clone/v1/enums_pb";
import type { LatencyResults } from "./query-report";
import type { Summary } from "./stats";

/** How many sampled write-model answers the views gave equally once the role was back. */
export interface OutageComparison {
  readonly samples: number;
  readonly equal: number;
  /** The first reads that differed (method and request). */
  readonly differences: readonly string[];
}

/** The reads made through one gateway while the role was stopped. */
export interface OutageRow {
  readonly gateway: string;
  /** Its READ_FALLBACK_CONCURRENCY. */
  readonly bound: number;
  readonly summary: Summary;
  readonly errorSamples: readonly string[];
  /** Answers by `meta.source`. */
  readonly sources: ReadonlyMap<AnswerSource, number>;
  /** p99 of each read (by method), ms, whatever answered it. */
  readonly p99ByRead: ReadonlyMap<string, number>;
  readonly comparison: OutageComparison;
  /** CPU per read of its gateway and of Postgres (the database's backends during its slices), ms. */
  readonly cpuPerRead?: { readonly gatewayMs: number; readonly postgresMs: number };
}

/** Item 5's measurement. */
export interface OutageResult {
  readonly rows: readonly OutageRow[];
  /** The profiles changed during the outage, read from the write model then and from the views after. */
  readonly changed: OutageComparison;
  readonly concurrency: number;
  readonly windowMs: number;
  readonly users: number;
}

/** The target: every read within this p99, all from the write model, all samples equal. */
export const outageTarget = { p99Ms: 100 } as const;

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const total = (sources: ReadonlyMap<AnswerSource, number>) =>
  [...sources.values()].reduce((a, b) => a + b, 0);
const countOf = (row: OutageRow, s: AnswerSource) => row.sources.get(s) ?? 0;

/** The share of a row's answers that came from the write model (NaN without answers). */
export function writeModelShare(row: OutageRow): number {
  return countOf(row, AnswerSource.WRITE_MODEL) / total(row.sources);
}

/** The table of item 5. */
export function formatOutage(r: OutageResult): string {
  const lines = [
    `consistency role stopped, ${r.users} users' eight unary QueryService reads (random user, random read), ` +
      `concurrency ${r.concurrency}, ${fmt(r.windowMs / 1000, 0)} s per gateway interleaved:`,
    "| gateway | READ_FALLBACK_CONCURRENCY | ops/s | p50 ms | p99 ms | from WRITE_MODEL | VIEW / CACHE | errors | sampled answers equal to the views' after | CPU ms/read: gateway, postgres |",
    "|---|---:|---:|---:|---:|---:|---|---:|---|---|",
  ];
  for (const row of r.rows) {
    const c = row.comparison;
    lines.push(
      `| ${row.gateway} | ${row.bound} | ${fmt(row.summary.opsPerSecond, 0)} | ${fmt(row.summary.p50Ms)} | ` +
        `${fmt(row.summary.p99Ms)} | ${fmt(writeModelShare(row) * 100, 1)}% | ${countOf(row, AnswerSource.VIEW)} / ` +
        `${countOf(row, AnswerSource.CACHE)} | ${row.summary.errors}${row.errorSamples.length > 0 ? ` (${row.errorSamples.join(" | ")})` : ""} | ` +
        `${c.equal} / ${c.samples}${c.differences.length > 0 ? ` (differ: ${c.differences.join("; ")})` : ""} | ` +
        `${row.cpuPerRead ? `${fmt(row.cpuPerRead.gatewayMs, 3)}, ${fmt(row.cpuPerRead.postgresMs, 3)}` : "n/a"} |`,
    );
  }
  for (const row of r.rows) {
    const reads = [...row.p99ByRead]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([method, p99]) => `${method} ${fmt(p99, 1)}`);
    lines.push("", `p99 ms by read, ${row.gateway}: ${reads.join(", ")}`);
  }
  lines.push(
    "",
    `profiles changed during the outage: ${r.changed.equal} / ${r.changed.samples} write-model answers equal to ` +
      "the views' once the role was back",
  );
  return lines.join("\n");
}

/** One verdict line per gateway of item 5, naming what failed. */
export function formatOutageVerdicts(r: OutageResult): string {
  return r.rows
    .map((row) => {
      const share = writeModelShare(row);
      const c = row.comparison;
      const failures = [
        ...(row.summary.p99Ms <= outageTarget.p99Ms ? [] : ["p99"]),
        ...(share === 1 ? [] : [`${fmt((1 - share) * 100, 1)}% not from the write model`]),
        ...(row.summary.errors === 0 ? [] : [`${row.summary.errors} errors`]),
        ...(c.samples > 0 && c.equal === c.samples ? [] : ["sampled answers differ from the views'"]),
        ...(r.changed.samples > 0 && r.changed.equal === r.changed.samples
          ? []
          : ["changed profiles differ"]),
      ];
      const ok = failures.length === 0;
      const valid = total(row.sources) > 0;
      return (
        `read side down, ${row.gateway} (READ_FALLBACK_CONCURRENCY ${row.bound}) @${r.concurrency}: p99 = ` +
        `${fmt(row.summary.p99Ms)} ms, ${fmt(share * 100, 1)}% from the write model, ${c.equal}/${c.samples} ` +
        `sampled equal (target p99 <= ${outageTarget.p99Ms} ms, all from the write model, all equal) ` +
        `${!valid ? "n/a" : ok ? "PASS" : `FAIL (${failures.join(", ")})`}`
      );
    })
    .join("\n");
}

/** The strong read beside the view read at each concurrency (no target: for reference). */
export function formatStrongLines(latency: LatencyResults): string {
  const lines: string[] = [];
  for (const [c, row] of latency) {
    const view = row.get("uncached")?.summary;
    const strong = row.get("strong")?.summary;
    if (!view || !strong) continue;
    lines.push(
      `strong read @${c}: p50 ${fmt(strong.p50Ms)} ms, p99 ${fmt(strong.p99Ms)} ms, ${fmt(strong.opsPerSecond, 0)} ops/s ` +
        `vs the view read p50 ${fmt(view.p50Ms)} ms, p99 ${fmt(view.p99Ms)} ms, ${fmt(view.opsPerSecond, 0)} ops/s ` +
        `(strong p50 / view p50 = ${fmt(strong.p50Ms / view.p50Ms)}; no target, for reference)`,
    );
  }
  return lines.join("\n");
}
