/**
 * Histogram buckets, in seconds. Latencies here are milliseconds-scale, so the buckets start at 0.5 ms; each
 * alert threshold is a bucket bound (0.1 s for queries, 10 s for consistency lag), and the lag and refresh
 * buckets go past their thresholds so that `histogram_quantile` can report a value above them (a quantile
 * that falls in the `+Inf` bucket is reported as the highest finite bound).
 */

/** Request and transaction latencies: 0.5 ms .. 10 s, then 30 s for calls waiting out a command timeout. */
export const latencyBuckets: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** View refreshes: keyed refreshes take milliseconds, a full rebuild may take minutes. */
export const refreshBuckets: readonly number[] = [...latencyBuckets, 60, 120, 300];

/** Commit-to-visible lag: milliseconds normally, past the 10 s alert threshold when the read side falls behind. */
export const lagBuckets: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600,
];
