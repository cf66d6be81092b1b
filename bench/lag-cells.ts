/**
 * Item 3 of queries.bench.ts: the consistency lag cells. Keyed refresh first, the two deployments' samples
 * taken interleaved, one schedule alternating between them sample by sample (lag-probe.ts `runInterleaved`),
 * so that load from elsewhere falls on both alike; then both consistency roles
 * restarted with CONSISTENCY_REFRESH_MODE=full and one cell each (the large one sends for a shorter time,
 * each of its refreshes rewrites the whole view). Each cell also carries what the roles' own metrics saw.
 */
import { createLagProbe, type LagSample } from "./lag-probe";
import { type LagCell, lagOf } from "./lag-report";
import type { Cleanups } from "./query-cleanups";
import type { Deployment } from "./query-deployment";
import { meanMs, scrape } from "./query-metrics";
import type { QueryBenchOptions } from "./query-options";
import type { RefreshMode } from "./query-stack";

const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

/** Item 3: keyed cells interleaved between the deployments, then both restarted in full mode, one at a time. */
export async function measureLag(
  options: QueryBenchOptions,
  small: Deployment,
  large: Deployment,
  cleanups: Cleanups,
  progress: (line: string) => void,
): Promise<LagCell[]> {
  const probe = await cleanups.track(
    await createLagProbe(small.nats.url, [small.nats.prefix, large.nats.prefix]),
    (p) => p.close(),
  );
  const rate = options.lagRate;
  const timeoutMs = options.lagTimeoutMs;
  // Warm the command and event paths of both (the large one has served nothing yet); the zipf mix's events drain.
  await probe.runInterleaved([small.target, large.target], { rate, durationMs: 2_000, timeoutMs });

  const before = new Map(
    await Promise.all([small, large].map(async (d) => [d, await scrapeLag(d)] as const)),
  );
  const [smallKeyed = [], largeKeyed = []] = await probe.runInterleaved([small.target, large.target], {
    rate,
    durationMs: options.lagMs,
    timeoutMs,
  });
  const keyed = new Map<Deployment, LagSample[]>([
    [small, smallKeyed],
    [large, largeKeyed],
  ]);
  const cells: LagCell[] = [];
  for (const d of [small, large]) {
    const cell = lagCell(
      d,
      "keyed",
      rate,
      options.lagMs,
      keyed.get(d) ?? [],
      before.get(d),
      await scrapeLag(d),
    );
    cells.push(cell);
    progressLag(cell, progress);
  }

  const t = performance.now();
  await Promise.all([small, large].map((d) => d.stack.restartConsistency("full")));
  progress(`consistency roles restarted with CONSISTENCY_REFRESH_MODE=full in ${seconds(t)} s`);
  for (const [d, sendMs] of [
    [small, options.lagFullMs],
    [large, options.lagFullLargeMs],
  ] as const) {
    const b = await scrapeLag(d);
    const samples = await probe.run(d.target, { rate, durationMs: sendMs, timeoutMs });
    const cell = lagCell(d, "full", rate, sendMs, samples, b, await scrapeLag(d));
    cells.push(cell);
    progressLag(cell, progress);
  }
  return cells;
}

interface LagScrape {
  readonly consistency: Awaited<ReturnType<typeof scrape>>;
  readonly relay: Awaited<ReturnType<typeof scrape>>;
}

async function scrapeLag(d: Deployment): Promise<LagScrape> {
  const [consistency, relay] = await Promise.all([
    scrape(d.stack.consistencyMetrics()),
    scrape(d.stack.relayMetrics),
  ]);
  return { consistency, relay };
}

function lagCell(
  d: Deployment,
  mode: RefreshMode,
  rate: number,
  sendMs: number,
  samples: LagSample[],
  before: LagScrape | undefined,
  after: LagScrape,
): LagCell {
  const view = { view: "user_profile_view" };
  const none = { meanMs: Number.NaN, count: 0 };
  return {
    users: d.users,
    mode,
    rate,
    sendMs,
    samples,
    metrics: before
      ? {
          refresh: meanMs(before.consistency, after.consistency, "clone_view_refresh_duration_seconds", {
            ...view,
            mode,
          }),
          viewLag: meanMs(before.consistency, after.consistency, "clone_consistency_lag_seconds", view),
          publishDelay: meanMs(before.relay, after.relay, "clone_outbox_publish_delay_seconds"),
        }
      : { refresh: none, viewLag: none, publishDelay: none },
  };
}

function progressLag(cell: LagCell, progress: (line: string) => void): void {
  const l = lagOf(cell);
  progress(
    `lag ${cell.users} users ${cell.mode}: ${l.visible}/${cell.samples.length} visible, p50 ${l.p50.toFixed(1)} ms, ` +
      `p99 ${l.p99.toFixed(1)} ms`,
  );
}
