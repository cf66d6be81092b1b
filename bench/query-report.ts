/**
 * The printed result of queries.bench.ts: markdown tables of the query latency and of the zipf mix's cache hit
 * rate (the lag's are in lag-report.ts), then one verdict line per target.
 */
import type { CpuSample } from "./cpu-meter";
import { ratioInterval } from "./lag-bootstrap";
import { type LagCell, lagOf, timedLags, usersLabel } from "./lag-report";
import { type MixCounts, mixReads, sumCounts } from "./query-mix";
import { type LoadResult, percentile, type Summary, summarize } from "./stats";

/** The workloads of the latency matrix, in print order. */
export const latencyWorkloads = ["cached", "uncached", "strong", "echo", "pk-select"] as const;
/** A workload of the latency matrix. */
export type LatencyWorkload = (typeof latencyWorkloads)[number];

const latencyLabels: Record<LatencyWorkload, string> = {
  cached: "GetUserProfile, cached (from_cache asserted)",
  uncached: "GetUserProfile, bypass_cache = true (view read)",
  strong: "GetUserProfile, consistency = STRONG (write model, source asserted)",
  echo: "bare grpc-js echo (child process)",
  "pk-select": "bare pg primary-key SELECT on user_profile_view",
};

/** One cell of the latency matrix. */
export interface LatencyCell {
  readonly summary: Summary;
  readonly load: LoadResult;
  readonly note?: string;
  readonly cpu?: CpuSample;
}

/** Latency cells by concurrency and workload. */
export type LatencyResults = Map<number, Map<LatencyWorkload, LatencyCell>>;

/** The zipf mix's measurement. */
export interface MixResult {
  readonly counts: MixCounts;
  /** QUERY_CACHE_TTL_MS of the gateway. */
  readonly ttlMs: number;
  /** The highest hit rate the TTL allows at the measured read rates, with no writes (zipf.ts `steadyState`). */
  readonly ttlBound: number;
  /** The highest hit rate the measured writes allow with no TTL at all (zipf.ts `steadyState`). */
  readonly writesBound: number;
  /** The steady state at the measured read and write rates: TTL and invalidations, no size bound. */
  readonly model: { readonly hitRate: number; readonly entries: number };
  /** Entries the gateway's cache held at the end (`clone_query_cache_entries`), and its QUERY_CACHE_MAX_ENTRIES. */
  readonly cacheEntries: number;
  readonly maxEntries: number;
  readonly load: LoadResult;
  /** Cache hits and misses of the three read types from the gateway's /metrics, over the measured window. */
  readonly gatewayHits: number;
  readonly gatewayMisses: number;
  readonly users: number;
  readonly exponent: number;
  readonly concurrency: number;
  readonly writeShare: number;
  /** The cache was primed with the answers of this many most popular users, then warmed up this long. */
  readonly primedUsers: number;
  readonly warmupMs: number;
}

/** The targets. */
export const queryTargets = {
  cachedOverEcho: { max: 1.3 },
  uncachedOverEchoPlusPk: { concurrency: 1, max: 1.5 },
  keyedLagP99Ms: { max: 100 },
  keyedLagGrowth: { max: 1.2 },
  hitRate: { min: 0.9 },
} as const;

const fmt = (n: number | undefined, digits = 2) =>
  n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : "n/a";
const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(1)}%` : "n/a");
const verdict = (ok: boolean, value: number) => (!Number.isFinite(value) ? "n/a" : ok ? "PASS" : "FAIL");

/** The latency table. */
export function formatLatency(results: LatencyResults): string {
  const lines = [
    "| concurrency | workload | ops/s | p50 ms | p99 ms | notes |",
    "|---:|---|---:|---:|---:|---|",
  ];
  for (const [concurrency, row] of results) {
    for (const w of latencyWorkloads) {
      const c = row.get(w);
      if (!c) continue;
      const errors =
        c.summary.errors > 0
          ? `${c.summary.errors} ${w === "cached" ? "not from cache" : "errors"}: ${c.load.errorSamples.join(" | ")}`
          : undefined;
      const notes = [c.note, errors].filter((x) => x !== undefined).join("; ");
      lines.push(
        `| ${concurrency} | ${latencyLabels[w]} | ${fmt(c.summary.opsPerSecond, 0)} | ${fmt(c.summary.p50Ms)} | ` +
          `${fmt(c.summary.p99Ms)} | ${notes} |`,
      );
    }
  }
  return lines.join("\n");
}

const cpuColumns = ["bench client", "gateway", "echo server", "postgres"] as const;

/** CPU per operation by process, for the latency matrix. */
export function formatLatencyCpu(results: LatencyResults): string {
  const lines = [
    "CPU per operation (ms of CPU summed over cores) by process, and machine cores busy while it ran:",
    `| concurrency | workload | ${cpuColumns.join(" | ")} | machine, cores |`,
    `|---:|---|${cpuColumns.map(() => "---:|").join("")}---:|`,
  ];
  for (const [concurrency, row] of results) {
    for (const w of latencyWorkloads) {
      const c = row.get(w);
      const ops = c?.load.latenciesMs.length ?? 0;
      if (!c?.cpu || ops === 0) continue;
      const cpu = c.cpu;
      const cells = cpuColumns.map((p) => fmt((cpu.byProcess.get(p) ?? 0) / ops, 3));
      lines.push(`| ${concurrency} | ${w} | ${cells.join(" | ")} | ${fmt(cpu.machineBusyMs / cpu.wallMs)} |`);
    }
  }
  return lines.join("\n");
}

/** The zipf mix table. */
export function formatMix(m: MixResult): string {
  const all = sumCounts(m.counts.byType);
  const reads = Float64Array.from(m.counts.readLatenciesMs).sort();
  const s = summarize(m.load);
  const lines = [
    `zipf(s=${m.exponent}) over ${usersLabel(m.users)} users, ${Math.round((1 - m.writeShare) * 100)}% reads ` +
      `(GetUserProfile / GetUserStatistics / ListConversations evenly), ${Math.round(m.writeShare * 100)}% writes ` +
      `(UpdateUserProfile / RecordConversationTurn evenly), concurrency ${m.concurrency}, ` +
      `${fmt(m.load.windowMs / 1000, 0)} s, after priming the cache with the 3 answers of the ${m.primedUsers} most ` +
      `popular users and ${fmt(m.warmupMs / 1000, 0)} s of the same mix:`,
    "| query | reads | from cache | hit rate | misses: first read / after a write / shared load / expired / evicted or other |",
    "|---|---:|---:|---:|---|",
  ];
  for (const t of mixReads) {
    const c = m.counts.byType.get(t);
    if (!c) continue;
    lines.push(
      `| ${t} | ${c.reads} | ${c.hits} | ${pct(c.hits / c.reads)} | ${c.first} / ${c.written} / ${c.shared} / ${c.expired} / ${c.other} |`,
    );
  }
  lines.push(
    `| all reads | ${all.reads} | ${all.hits} | ${pct(all.hits / all.reads)} | ${all.first} / ${all.written} / ${all.shared} / ${all.expired} / ${all.other} |`,
    "",
    `ops/s ${fmt(s.opsPerSecond, 0)} (reads and ${m.counts.writes} writes), read p50 ${fmt(percentile(reads, 50))} ms, ` +
      `read p99 ${fmt(percentile(reads, 99))} ms, ${s.errors} errors${s.errors > 0 ? ` (${m.load.errorSamples.join(" | ")})` : ""}; ` +
      `${m.counts.distinctKeys} distinct (query, user) keys read; gateway /metrics: ` +
      `clone_query_cache_hits_total +${m.gatewayHits}, clone_query_cache_misses_total +${m.gatewayMisses} → ` +
      `hit rate ${pct(m.gatewayHits / (m.gatewayHits + m.gatewayMisses))}`,
    `steady state expected at these read and write rates (zipf.ts model: entries live ${fmt(m.ttlMs / 1000, 0)} s, ` +
      `QUERY_CACHE_TTL_MS, or until a write invalidates them; no size bound): ${pct(m.model.hitRate)}, holding ` +
      `~${fmt(m.model.entries, 0)} live entries (the gateway held ${m.cacheEntries} at the end, expired ones ` +
      `included until looked up or evicted; QUERY_CACHE_MAX_ENTRIES ${m.maxEntries}); it counts no shared loads ` +
      `(lanes that miss one key together: single-flight loads it once, and each is a miss). The TTL alone caps it ` +
      `at ${pct(m.ttlBound)} (each key misses once per TTL, no writes); with no TTL at all, the writes alone would ` +
      `cap it at ${pct(m.writesBound)} (the next read of every key they invalidate misses).`,
    m.warmupMs >= m.ttlMs
      ? `warmed up for ${fmt(m.warmupMs / 1000, 0)} s >= the TTL: entries expire during the window as in a ` +
          "gateway serving for a while (steady state)"
      : `NOT steady state: warmed up for ${fmt(m.warmupMs / 1000, 0)} s < the TTL, so the entries loaded in the ` +
          `warm-up had not expired yet (without the first reads: ${pct(all.hits / (all.reads - all.first))})`,
  );
  return lines.join("\n");
}

/** One verdict line per target. */
export function formatQueryVerdicts(
  latency: LatencyResults,
  lag: readonly LagCell[],
  mix: MixResult | undefined,
  sizes: { readonly small: number; readonly large: number },
): string {
  const lines: string[] = [];
  const p50 = (c: number, w: LatencyWorkload) => latency.get(c)?.get(w)?.summary.p50Ms ?? Number.NaN;
  for (const c of latency.keys()) {
    const r = p50(c, "cached") / p50(c, "echo");
    const t = queryTargets.cachedOverEcho;
    lines.push(
      `cached @${c}: cached p50 / echo p50 = ${fmt(r)} (target <= ${t.max}) ${verdict(r <= t.max, r)}`,
    );
  }
  for (const c of latency.keys()) {
    const r = p50(c, "uncached") / (p50(c, "echo") + p50(c, "pk-select"));
    const t = queryTargets.uncachedOverEchoPlusPk;
    const scope = c === t.concurrency ? "" : " [target is set at concurrency 1; shown for reference]";
    lines.push(
      `uncached @${c}: uncached p50 / (echo p50 + pk select p50) = ${fmt(r)} (target <= ${t.max}) ` +
        `${verdict(r <= t.max, r)}${scope}`,
    );
  }
  const keyed = (users: number) => lag.find((c) => c.mode === "keyed" && c.users === users);
  const small = keyed(sizes.small);
  const large = keyed(sizes.large);
  const t = queryTargets.keyedLagP99Ms;
  for (const c of [small, large]) {
    if (!c) continue;
    const l = lagOf(c);
    const p99 = l.failed > 0 ? Number.POSITIVE_INFINITY : l.p99;
    lines.push(
      `lag keyed @${usersLabel(c.users)}: p99 = ${fmt(l.p99, 1)} ms${l.failed > 0 ? ` with ${l.failed} not visible` : ""} ` +
        `(target <= ${t.max} ms) ${l.visible === 0 ? "n/a" : p99 <= t.max ? "PASS" : "FAIL"}`,
    );
  }
  if (small && large) {
    const r = lagOf(large).p99 / lagOf(small).p99;
    const g = queryTargets.keyedLagGrowth;
    const ci = ratioInterval(timedLags(small), timedLags(large));
    lines.push(
      `lag keyed growth: p99 @${usersLabel(large.users)} / p99 @${usersLabel(small.users)} = ${fmt(r)} ` +
        `(90% interval ${fmt(ci.low)}-${fmt(ci.high)}, paired bootstrap of ${ci.blocks} 1 s blocks of ` +
        `interleaved samples) (target <= ${g.max}, i.e. within 20%) ${verdict(r <= g.max, r)}`,
    );
  }
  if (mix) {
    const all = sumCounts(mix.counts.byType);
    const rate = all.hits / all.reads;
    const h = queryTargets.hitRate;
    lines.push(
      `cache hit rate (zipf mix): ${pct(rate)}; steady state expected at its rates ${pct(mix.model.hitRate)} ` +
        `(target >= ${pct(h.min)}) ${verdict(rate >= h.min, rate)}`,
    );
  }
  return lines.join("\n");
}
