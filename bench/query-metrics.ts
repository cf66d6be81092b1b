/**
 * Reads a process's `/metrics` (Prometheus text) and sums samples, to take differences around a measured
 * window: counters' increments, and histograms' `_sum` / `_count` for a mean.
 */
import { type Exposition, findSamples, parseExposition } from "../src/metrics/parse-exposition";

/** A scrape of one endpoint. */
export type Scrape = Exposition;

/** Fetches and parses `url`. */
export async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return parseExposition(await res.text());
}

/** The sum of the samples named `name` whose labels include `labels` (0 when there are none). */
export function total(s: Scrape, name: string, labels: Readonly<Record<string, string>> = {}): number {
  return findSamples(s, name, labels).reduce((n, x) => n + x.value, 0);
}

/** Increase of `name` (with `labels`) from `before` to `after`. */
export function delta(
  before: Scrape,
  after: Scrape,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  return total(after, name, labels) - total(before, name, labels);
}

/** Mean of a histogram's observations made between the two scrapes, in ms (NaN when there were none). */
export function meanMs(
  before: Scrape,
  after: Scrape,
  histogram: string,
  labels: Readonly<Record<string, string>> = {},
): { meanMs: number; count: number } {
  const count = delta(before, after, `${histogram}_count`, labels);
  const sum = delta(before, after, `${histogram}_sum`, labels);
  return { meanMs: count > 0 ? (sum / count) * 1000 : Number.NaN, count };
}
