/**
 * Helpers for gauges read at scrape time. prom-client runs every `collect()` of a scrape together and fails
 * the whole scrape when one rejects, so a collector that reads Postgres or NATS must time out and must not
 * throw: it reports NaN (unknown) and counts the failure in `clone_metrics_collect_failures_total` (written
 * out while the collectors still run, so a failure shows from the next scrape on).
 */
import { Counter, type Metric, type Registry } from "prom-client";

/** Counts collectors that failed or timed out, by collector (the gauge they feed). */
export type CollectFailures = Counter<"collector">;

/** Creates `clone_metrics_collect_failures_total`. */
export function createCollectFailures(registry: Registry): CollectFailures {
  return new Counter({
    name: "clone_metrics_collect_failures_total",
    help: "Scrape-time collectors (Postgres or NATS reads) that failed or timed out, by the gauge they feed.",
    labelNames: ["collector"],
    registers: [registry],
  });
}

/** Resolves like `promise`, or rejects after `ms` milliseconds (the promise itself is left to settle). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs `read` with a deadline; on failure counts it and calls `onFailure` instead of throwing. */
export async function guardedRead<T>(
  failures: CollectFailures,
  collector: string,
  timeoutMs: number,
  read: () => Promise<T>,
  onFailure: (error: unknown) => void,
): Promise<T | undefined> {
  try {
    return await withTimeout(read(), timeoutMs, collector);
  } catch (error) {
    failures.inc({ collector });
    onFailure(error);
    return undefined;
  }
}

/**
 * Registers `metric` while at least one source feeds it, so that a scrape-time gauge appears only in the
 * processes that measure it (a gateway does not report an outbox backlog of 0). Returns `add`, which
 * registers a source and returns its removal.
 */
export function sourcesOf<S>(
  registry: Registry,
  metrics: readonly Metric[],
): { readonly sources: ReadonlySet<S>; add(source: S): () => void } {
  const sources = new Set<S>();
  return {
    sources,
    add(source) {
      if (sources.size === 0) for (const m of metrics) registry.registerMetric(m);
      sources.add(source);
      return () => {
        if (!sources.delete(source) || sources.size > 0) return;
        for (const m of metrics) registry.removeSingleMetric(nameOf(m));
      };
    },
  };
}

/** The name of a metric (prom-client keeps it on the instance but does not type it). */
export function nameOf(metric: Metric): string {
  return (metric as unknown as { name: string }).name;
}
