/**
 * Item 4 of queries.bench.ts: the cache hit rate of the zipf mix (query-mix.ts), counted by the client and
 * cross-checked with the gateway's /metrics, beside what a model of the cache predicts for its steady state
 * at the measured rates (zipf.ts `steadyState`): with the TTL alone, and with the mix's invalidations too.
 *
 * Measured in steady state: the mix runs for a warm-up of at least the TTL before the measured window, so
 * that entries expire during it as they do in a gateway that has been serving for a while (a shorter warm-up
 * measures a cache that has not reached its first expiry yet).
 */
import { loadConfig } from "../src/config";
import { runClosedLoop } from "./load";
import type { Deployment } from "./query-deployment";
import { delta, scrape, total } from "./query-metrics";
import { createMixWorkload, mixReads } from "./query-mix";
import type { QueryBenchOptions } from "./query-options";
import type { MixResult } from "./query-report";
import { summarize } from "./stats";
import { createZipf, seededRandom, steadyState } from "./zipf";

const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

/**
 * Item 4: the zipf mix on the small deployment. The cache is first primed with the three queries of the most
 * popular users (about what a long-running gateway holds), then the mix runs for a warm-up, then measured.
 */
export async function measureHitRate(
  options: QueryBenchOptions,
  d: Deployment,
  progress: (line: string) => void,
): Promise<MixResult> {
  const zipf = createZipf(d.seed.users.length, options.zipfExponent, 1);
  // The gateways inherit this environment, so these are their cache settings.
  const cache = loadConfig().cache;
  const mix = createMixWorkload({
    query: d.target.query,
    command: d.target.command,
    users: d.seed.users,
    tokens: d.target.tokens,
    zipf,
    random: seededRandom(2),
    writeShare: options.zipfWriteShare,
    ttlMs: cache.ttlMs,
  });
  const t = performance.now();
  await mix.prime(Math.min(options.zipfPrimeUsers, d.seed.users.length), options.zipfConcurrency);
  await runClosedLoop(options.zipfConcurrency, options.zipfWarmupMs, mix.op);
  mix.reset();
  progress(`zipf mix: primed ${options.zipfPrimeUsers} users' answers and warmed up in ${seconds(t)} s`);
  const before = await scrape(d.stack.gatewayMetrics);
  const load = await runClosedLoop(options.zipfConcurrency, options.zipfMs, mix.op);
  const after = await scrape(d.stack.gatewayMetrics);
  const counter = (name: string) =>
    mixReads.reduce((n, queryType) => n + delta(before, after, name, { query_type: queryType }), 0);
  const counts = mix.counts();
  const windowS = load.windowMs / 1000;
  let bounded = 0;
  let modelled = 0;
  let entries = 0;
  let writesOnly = 0;
  for (const [type, c] of counts.byType) {
    const rates = {
      readsPerSecond: c.reads / windowS,
      invalidationsPerSecond: (counts.invalidations.get(type) ?? 0) / windowS,
      ttlMs: cache.ttlMs,
    };
    const model = steadyState(zipf, d.seed.users.length, rates);
    modelled += c.reads * model.hitRate;
    entries += model.entries;
    bounded +=
      c.reads * steadyState(zipf, d.seed.users.length, { ...rates, invalidationsPerSecond: 0 }).hitRate;
    writesOnly +=
      c.reads * steadyState(zipf, d.seed.users.length, { ...rates, ttlMs: Number.POSITIVE_INFINITY }).hitRate;
  }
  const reads = [...counts.byType.values()].reduce((n, c) => n + c.reads, 0);
  const result: MixResult = {
    counts,
    ttlMs: cache.ttlMs,
    ttlBound: bounded / reads,
    writesBound: writesOnly / reads,
    model: { hitRate: modelled / reads, entries },
    cacheEntries: total(after, "clone_query_cache_entries"),
    maxEntries: cache.maxEntries,
    load,
    gatewayHits: counter("clone_query_cache_hits_total"),
    gatewayMisses: counter("clone_query_cache_misses_total"),
    users: d.seed.users.length,
    exponent: options.zipfExponent,
    concurrency: options.zipfConcurrency,
    writeShare: options.zipfWriteShare,
    primedUsers: options.zipfPrimeUsers,
    warmupMs: options.zipfWarmupMs,
  };
  const s = summarize(load);
  progress(`zipf mix: ${s.opsPerSecond.toFixed(0)} ops/s, ${s.errors} errors`);
  return result;
}
