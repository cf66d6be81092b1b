/** Latency samples and their summary. */

/** What one run of a workload measured (or several runs, merged). */
export interface LoadResult {
  /** Successful operations that completed inside the measurement window. */
  readonly completedInWindow: number;
  /** Length of the measurement window(s), ms. */
  readonly windowMs: number;
  /** Failed operations (not in the latencies). */
  readonly errors: number;
  /** The first few distinct error messages, for the report. */
  readonly errorSamples: readonly string[];
  /** Latency of every successful operation, ms (also of those that completed after the window closed). */
  readonly latenciesMs: Float64Array;
}

/** The numbers printed for a cell. */
export interface Summary {
  readonly opsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

/** Nearest-rank percentile of sorted samples; NaN when there are none. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/** The middle value, or the mean of the two middle ones for an even count; NaN when there are none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Throughput and latency percentiles of a cell. */
export function summarize(result: LoadResult): Summary {
  const sorted = Float64Array.from(result.latenciesMs).sort();
  return {
    opsPerSecond: result.windowMs > 0 ? (result.completedInWindow * 1000) / result.windowMs : 0,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    errors: result.errors,
  };
}

/** Several runs of one workload as one result. */
export function mergeResults(results: readonly LoadResult[]): LoadResult {
  const latencies = new Float64Array(results.reduce((n, r) => n + r.latenciesMs.length, 0));
  let offset = 0;
  for (const r of results) {
    latencies.set(r.latenciesMs, offset);
    offset += r.latenciesMs.length;
  }
  return {
    completedInWindow: results.reduce((n, r) => n + r.completedInWindow, 0),
    windowMs: results.reduce((n, r) => n + r.windowMs, 0),
    errors: results.reduce((n, r) => n + r.errors, 0),
    errorSamples: [...new Set(results.flatMap((r) => r.errorSamples))].slice(0, 5),
    latenciesMs: latencies,
  };
}
