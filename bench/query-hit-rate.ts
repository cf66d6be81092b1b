/**
 * Item 4 of queries.bench.ts: the cache hit rate of the zipf mix (query-mix.ts), counted by the client and
 * cross-checked with the gateway's /metrics, beside the bound the cache's TTL puts on it (zipf.ts).
 */
import { loadConfig } from "../src/config";
import { runClosedLoop } from "./load";
import type { Deployment } from "./query-deployment";
import { delta, scrape } from "./query-metrics";
import { createMixWorkload, mixReads } from "./query-mix";
import type { QueryBenchOptions } from "./query-options";
import type { MixResult } from "./query-report";
import { summarize } from "./stats";
import { createZipf, seededRandom, ttlHitRateBound } from "./zipf";

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
  const mix = createMixWorkload({
    query: d.target.query,
    command: d.target.command,
    users: d.seed.users,
    tokens: d.target.tokens,
    zipf,
    random: seededRandom(2),
    writeShare: options.zipfWriteShare,
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
  // The gateways inherit this environment, so this is their TTL.
  const ttlMs = loadConfig().cache.ttlMs;
  let bounded = 0;
  for (const c of counts.byType.values()) {
    const perSecond = c.reads / (load.windowMs / 1000);
    bounded += c.reads * ttlHitRateBound(zipf, d.seed.users.length, perSecond, ttlMs);
  }
  const reads = [...counts.byType.values()].reduce((n, c) => n + c.reads, 0);
  const result: MixResult = {
    counts,
    ttlMs,
    ttlBound: bounded / reads,
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
