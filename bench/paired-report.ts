/**
 * The reading and summing up of `bench/paired.ts`: the key numbers of one run's printed report, and the table
 * of per-ref medians and B/A ratios over the paired runs.
 *
 * A report is read by its tables' headers and its lines' shapes, not by position, because the two refs of a
 * pair print it with their own bench/ (report.ts, query-report.ts as they were at that commit): an older
 * checkout's CPU table has other process columns, and a row or line it lacks is simply not compared.
 */
import { median } from "./stats";

/** The benchmarks paired.ts can run. */
export const benches = ["commands", "queries"] as const;
/** A benchmark paired.ts can run (`bun run bench:<name>`). */
export type Bench = (typeof benches)[number];

/** One run's numbers by metric name, in the order the report prints them. */
export type RunMetrics = Map<string, number>;

/** A markdown table of a report, with the line printed just above it. */
interface Table {
  readonly caption: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

const cells = (line: string) =>
  line
    .split("|")
    .slice(1, -1)
    .map((c) => c.trim());

/** Every markdown table of a report (a `|` line followed by a `|---` separator line, then its rows). */
function parseTables(text: string): Table[] {
  const lines = text.split("\n");
  const tables: Table[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    const line = lines[i] as string;
    if (!line.startsWith("|") || !(lines[i + 1] as string).startsWith("|--")) continue;
    const rows: string[][] = [];
    let j = i + 2;
    for (; j < lines.length && (lines[j] as string).startsWith("|"); j++)
      rows.push(cells(lines[j] as string));
    tables.push({ caption: (lines[i - 1] ?? "").trim(), header: cells(line), rows });
    i = j - 1;
  }
  return tables;
}

const number = (cell: string | undefined) =>
  cell === undefined || cell === "" || !/^-?\d+(\.\d+)?$/.test(cell) ? undefined : Number(cell);

/**
 * What a " = n" in `text` is the value of: the text before it back to an unmatched "(" or a ";" or "," outside
 * parentheses, e.g. "e2e p50 / (echo p50 + insert p50)", or "strong p50 / view p50" out of "..., 9 ops/s
 * (strong p50 / view p50".
 */
function expressionBefore(text: string): string {
  let depth = 0;
  for (let i = text.length - 1; i >= 0; i--) {
    const ch = text[i];
    if (ch === ")") depth++;
    else if (ch === "(" && depth > 0) depth--;
    else if (depth === 0 && (ch === "(" || ch === ";" || ch === ",")) return text.slice(i + 1).trim();
  }
  return text.trim();
}

/**
 * The ratio lines (the targets' verdicts, and any "x = n" a line says for reference), each named by the line's
 * label before its first ": " and the expression before " = ", e.g. "throughput @64: e2e ops/s / insert-txn
 * ops/s"; and the zipf mix's hit rate, a percentage.
 */
function parseRatioLines(text: string, into: RunMetrics): void {
  for (const line of text.split("\n")) {
    if (line.startsWith("|") || line.startsWith("(")) continue;
    const hit = /^(cache hit rate \(zipf mix\)): (\d+(?:\.\d+)?)%/.exec(line);
    if (hit) into.set(`${hit[1]}, %`, Number(hit[2]));
    const colon = line.indexOf(": ");
    const label = colon < 0 ? "" : line.slice(0, colon);
    const rest = colon < 0 ? line : line.slice(colon + 2);
    let from = 0;
    for (const m of rest.matchAll(/ = (-?\d+(?:\.\d+)?)/g)) {
      const expression = expressionBefore(rest.slice(from, m.index));
      from = m.index + m[0].length;
      into.set(label === "" ? expression : `${label}: ${expression}`, Number(m[1]));
    }
  }
}

/**
 * The rows of `workloads` in a report's CPU-per-operation table (its caption starts "CPU per operation"): each
 * process column's ms of CPU per operation (and the total, where the table has one); not the cores columns,
 * which say how busy the machine was, not what an operation costs.
 */
function parseCpu(tables: readonly Table[], workloads: readonly string[], into: RunMetrics): void {
  const cpu = tables.find((t) => t.caption.startsWith("CPU per operation"));
  if (!cpu) return;
  const first = cpu.header.indexOf("workload") + 1;
  for (const row of cpu.rows) {
    const workload = row[cpu.header.indexOf("workload")] ?? "";
    if (!workloads.includes(workload)) continue;
    const c = row[cpu.header.indexOf("concurrency")];
    cpu.header.forEach((name, i) => {
      const value = number(row[i]);
      if (i < first || name.includes("cores") || value === undefined) return;
      into.set(`${workload} CPU ms/op, ${name} @${c}`, value);
    });
  }
}

/**
 * The key numbers of a bench:commands report (report.ts): the e2e row's ops/s and p50 at each concurrency,
 * the e2e rows of the CPU table (total and each process) and the target ratios.
 */
export function parseCommandsRun(text: string): RunMetrics {
  const out: RunMetrics = new Map();
  const tables = parseTables(text);
  const main = tables.find((t) => t.header.includes("ops/s") && t.header.includes("p50 ms"));
  if (main) {
    const col = (name: string) => main.header.indexOf(name);
    for (const row of main.rows) {
      if (!row[col("workload")]?.startsWith("e2e command")) continue;
      const c = row[col("concurrency")];
      const ops = number(row[col("ops/s")]);
      const p50 = number(row[col("p50 ms")]);
      if (ops !== undefined) out.set(`e2e ops/s @${c}`, ops);
      if (p50 !== undefined) out.set(`e2e p50 ms @${c}`, p50);
    }
  }
  parseCpu(tables, ["e2e"], out);
  parseRatioLines(text, out);
  return out;
}

/**
 * The key numbers of a bench:queries report (query-report.ts, lag-report.ts, query-outage-report.ts): the
 * ratios it prints (each of two workloads measured interleaved in one run, so the least noisy comparison
 * across runs), the lag p99s, the zipf mix's hit rate, and the CPU per read of the query workloads.
 */
export function parseQueriesRun(text: string): RunMetrics {
  const out: RunMetrics = new Map();
  parseRatioLines(text, out);
  parseCpu(parseTables(text), ["cached", "uncached", "strong"], out);
  return out;
}

/** The parser of each benchmark's report. */
export const parsers: Record<Bench, (text: string) => RunMetrics> = {
  commands: parseCommandsRun,
  queries: parseQueriesRun,
};

/** The runs of a pairing: `a[i]` and `b[i]` ran back to back (pair i). */
export interface PairedRuns {
  readonly a: readonly RunMetrics[];
  readonly b: readonly RunMetrics[];
}

const fmt = (n: number) =>
  !Number.isFinite(n) ? "n/a" : Math.abs(n) >= 100 ? n.toFixed(0) : n.toPrecision(3);
const spread = (values: readonly number[]) =>
  values.length < 2 ? "" : ` (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})`;

/**
 * The markdown table: each metric's median over the runs of A and of B (with their range), the ratio of the
 * medians, the B/A ratios of the single pairs (their median and range: how far one pair can mislead), and in
 * how many pairs B was the higher (a sign test: 5 of 5 happens by chance once in 32 when the refs are alike;
 * whether higher is worse depends on the metric). A metric that was 0 in every run is left out (a process with
 * no work in that workload).
 */
export function formatPaired(runs: PairedRuns): string {
  const names = [...new Set([...runs.a, ...runs.b].flatMap((m) => [...m.keys()]))];
  const lines = [
    "| metric | A median (range) | B median (range) | B/A | B/A by pair (range) | B higher |",
    "|---|---:|---:|---:|---:|---:|",
  ];
  for (const name of names) {
    const values = (side: readonly RunMetrics[]) =>
      side.map((m) => m.get(name)).filter((v): v is number => v !== undefined);
    const a = values(runs.a);
    const b = values(runs.b);
    if ([...a, ...b].every((v) => v === 0)) continue;
    const pairs = runs.a.flatMap((m, i) => {
      const av = m.get(name);
      const bv = runs.b[i]?.get(name);
      return av !== undefined && bv !== undefined ? [[av, bv] as const] : [];
    });
    const byPair = pairs.filter(([av]) => av !== 0).map(([av, bv]) => bv / av);
    const higher =
      pairs.length === 0 ? "n/a" : `${pairs.filter(([av, bv]) => bv > av).length}/${pairs.length}`;
    lines.push(
      `| ${name} | ${fmt(median(a))}${spread(a)} | ${fmt(median(b))}${spread(b)} | ${fmt(median(b) / median(a))} | ` +
        `${byPair.length === 0 ? "n/a" : `${fmt(median(byPair))}${spread(byPair)}`} | ${higher} |`,
    );
  }
  return lines.join("\n");
}
