/**
 * Item 3 of queries.bench.ts: the consistency lag cells. Keyed refresh first: both deployments warmed up alike
 * (the calls of a lag sample in a closed loop), then their samples taken interleaved, one schedule alternating
 * between them sample by sample (lag-probe.ts `runInterleaved`), so that load from elsewhere falls on both
 * alike, while lag-server-watch.ts watches the Postgres server for long write transactions. Later (the
 * benchmark runs the zipf mix in between) both consistency roles restarted with CONSISTENCY_REFRESH_MODE=full
 * and one cell each (the large one sends for a shorter time, each of its refreshes rewrites the whole view).
 * Each cell also carries what the roles' own metrics saw; `BENCH_LAG_SAMPLES_FILE` keeps every sample.
 */
import { createLagProbe, type LagSample } from "./lag-probe";
import { type LagCell, lagOf } from "./lag-report";
import { watchLongWrites } from "./lag-server-watch";
import { type Operation, runClosedLoop } from "./load";
import type { Cleanups } from "./query-cleanups";
import type { Deployment } from "./query-deployment";
import { meanMs, scrape } from "./query-metrics";
import type { QueryBenchOptions } from "./query-options";
import type { RefreshMode } from "./query-stack";
import { asUser } from "./query-workloads";
import { seededRandom } from "./zipf";

const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);
const WARMUP_LANES = 8;

/** A lag sample's calls without the waiting: read a random user's profile, rename the user, read it again. */
function warmUpOp(d: Deployment): Operation {
  const random = seededRandom(5);
  return async (_lane, seq) => {
    const userId = d.target.users[Math.floor(random() * d.target.users.length)] as string;
    await d.target.tokens.tokenOf(userId);
    const call = () => asUser(d.target.tokens, userId);
    await d.target.query.call("getUserProfile", { userId }, call());
    await d.target.command.call("updateUserProfile", { userId, displayName: `Warm ${seq}` }, call());
    await d.target.query.call("getUserProfile", { userId }, call());
  };
}

/** The lag cells of item 3, in two phases that the benchmark runs apart. */
export interface LagCells {
  /** Warms both deployments up alike, then the keyed cells of both, interleaved. */
  keyed(): Promise<LagCell[]>;
  /** Restarts both consistency roles in full mode, then one full cell each (and writes the samples' file). */
  full(): Promise<LagCell[]>;
}

/**
 * Starts the lag probe on both deployments. The keyed cells must run while the two deployments have served
 * alike: the zipf mix, for one, leaves thousands of published events in the small database's outbox, and
 * until vacuum clears their index entries the relay's rounds there are slower, a cost of history, not size.
 */
export async function createLagCells(
  options: QueryBenchOptions,
  small: Deployment,
  large: Deployment,
  cleanups: Cleanups,
  progress: (line: string) => void,
): Promise<LagCells> {
  const probe = await cleanups.track(
    await createLagProbe(small.nats.url, [small.nats.prefix, large.nats.prefix]),
    (p) => p.close(),
  );
  const rate = options.lagRate;
  const timeoutMs = options.lagTimeoutMs;
  const cells: LagCell[] = [];

  async function keyed(): Promise<LagCell[]> {
    // Warm the command and event paths of both alike: the small one has served the latency matrix, the large
    // one nothing yet, and its processes' code would still be warming up in the window.
    const t = performance.now();
    await Promise.all(
      [small, large].map((d) => runClosedLoop(WARMUP_LANES, options.lagWarmupMs, warmUpOp(d))),
    );
    // Then a few samples on both, as the cells take them, while the warm-up's events drain.
    await probe.runInterleaved([small.target, large.target], { rate, durationMs: 2_000, timeoutMs });
    progress(`lag: both deployments warmed up in ${seconds(t)} s`);

    const before = new Map(
      await Promise.all([small, large].map(async (d) => [d, await scrapeLag(d)] as const)),
    );
    const watch = await watchLongWrites(small.db.url, [small.db.name, large.db.name]);
    const samples = await probe.runInterleaved([small.target, large.target], {
      rate,
      durationMs: options.lagMs,
      timeoutMs,
    });
    const longWrites = await watch.stop();
    const keyedCells: LagCell[] = [];
    for (const [i, d] of [small, large].entries()) {
      const cell = {
        ...lagCell(d, "keyed", rate, options.lagMs, samples[i] ?? [], before.get(d), await scrapeLag(d)),
        longWrites,
        blocks: longWrites.blocks.get(d.db.name),
      };
      keyedCells.push(cell);
      progressLag(cell, progress);
    }
    cells.push(...keyedCells);
    return keyedCells;
  }

  async function full(): Promise<LagCell[]> {
    const t = performance.now();
    await Promise.all([small, large].map((d) => d.stack.restartConsistency("full")));
    progress(`consistency roles restarted with CONSISTENCY_REFRESH_MODE=full in ${seconds(t)} s`);
    const fullCells: LagCell[] = [];
    for (const [d, sendMs] of [
      [small, options.lagFullMs],
      [large, options.lagFullLargeMs],
    ] as const) {
      const b = await scrapeLag(d);
      const samples = await probe.run(d.target, { rate, durationMs: sendMs, timeoutMs });
      const cell = lagCell(d, "full", rate, sendMs, samples, b, await scrapeLag(d));
      fullCells.push(cell);
      progressLag(cell, progress);
    }
    cells.push(...fullCells);
    if (options.lagSamplesFile !== undefined) {
      const lines = cells.flatMap((c) =>
        c.samples.map((s) => JSON.stringify({ users: c.users, mode: c.mode, ...s })),
      );
      await Bun.write(options.lagSamplesFile, `${lines.join("\n")}\n`);
      progress(`lag samples written to ${options.lagSamplesFile}`);
    }
    return fullCells;
  }

  return { keyed, full };
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
