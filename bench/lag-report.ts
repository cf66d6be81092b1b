/** The printed lag cells of queries.bench.ts: the lag table, and where the lag goes, segment by segment. */
import { ruleFor } from "../src/read-models";
import type { TimedValue } from "./lag-bootstrap";
import type { LagSample } from "./lag-probe";
import type { LongWrites } from "./lag-server-watch";
import type { RefreshMode } from "./query-stack";
import { percentile } from "./stats";

/** One lag cell. */
export interface LagCell {
  readonly users: number;
  readonly mode: RefreshMode;
  readonly rate: number;
  readonly sendMs: number;
  readonly samples: readonly LagSample[];
  /** Long write transactions on the Postgres server while the cell ran (lag-server-watch.ts), when watched. */
  readonly longWrites?: LongWrites;
  /** Block reads of the cell's database outside and inside shared buffers while it ran, when watched. */
  readonly blocks?: { readonly read: number; readonly hit: number } | undefined;
  /** Means from the services' own metrics over the cell (ms) and their observation counts. */
  readonly metrics: {
    readonly refresh: { meanMs: number; count: number };
    readonly viewLag: { meanMs: number; count: number };
    readonly publishDelay: { meanMs: number; count: number };
  };
}

const fmt = (n: number | undefined, digits = 2) =>
  n !== undefined && Number.isFinite(n) ? n.toFixed(digits) : "n/a";
/** `10k` for 10000. */
export const usersLabel = (n: number) => (n % 1000 === 0 ? `${n / 1000}k` : String(n));

type Segment = (s: LagSample) => number | undefined;
const diff = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : b - a;

/** Lag and its segments. */
const segments: ReadonlyArray<readonly [string, Segment]> = [
  ["worker reply → client answer", (s) => diff(s.replyAt, s.answeredAt)],
  ["relay wake − worker reply", (s) => diff(s.replyAt, s.wakeAt)],
  ["wake → event on JetStream (relay round)", (s) => diff(s.wakeAt, s.evtAt)],
  ["event → invalidation broadcast (consistency)", (s) => diff(s.evtAt, s.invAt)],
  ["invalidation → visible via gateway", (s) => diff(s.invAt, s.visibleAt)],
  ["answer → event on JetStream", (s) => diff(s.answeredAt, s.evtAt)],
];

/** p50 and p99 of `f` over the samples where it is defined. */
function spread(samples: readonly LagSample[], f: Segment): { p50: number; p99: number; n: number } {
  const values = Float64Array.from(
    samples.map(f).filter((v): v is number => v !== undefined && Number.isFinite(v)),
  ).sort();
  return { p50: percentile(values, 50), p99: percentile(values, 99), n: values.length };
}

/** The lag of each visible sample of a cell, with its send time (for lag-bootstrap.ts). */
export function timedLags(cell: LagCell): TimedValue[] {
  return cell.samples.flatMap((s) =>
    s.visibleAt !== undefined && s.answeredAt !== undefined
      ? [{ at: s.sentAt, value: s.visibleAt - s.answeredAt }]
      : [],
  );
}

/** Lag of a cell: visible − answered over the visible samples. */
export function lagOf(cell: LagCell): {
  p50: number;
  p99: number;
  max: number;
  visible: number;
  failed: number;
} {
  const lags = Float64Array.from(timedLags(cell).map((l) => l.value)).sort();
  return {
    p50: percentile(lags, 50),
    p99: percentile(lags, 99),
    max: lags.length > 0 ? (lags[lags.length - 1] as number) : Number.NaN,
    visible: lags.length,
    failed: cell.samples.length - lags.length,
  };
}

/** The lag table and the breakdown table. */
export function formatLag(cells: readonly LagCell[]): string {
  const lag = [
    "| users | refresh | commands | visible | timed out / failed | lag p50 ms | lag p99 ms | lag max ms | " +
      "refresh txn mean ms (metric) | commit → view refreshed mean ms (metric) | commit → published mean ms (metric) |",
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const c of cells) {
    const l = lagOf(c);
    const failures = [...new Set(c.samples.flatMap((s) => (s.error ? [s.error] : [])))].slice(0, 2);
    lag.push(
      `| ${usersLabel(c.users)} | ${c.mode} | ${c.samples.length} (${c.rate}/s × ${fmt(c.sendMs / 1000, 1)} s) | ` +
        `${l.visible} | ${l.failed}${failures.length > 0 ? ` (${failures.join(" | ")})` : ""} | ` +
        `${fmt(l.p50, 1)} | ${fmt(l.p99, 1)} | ${fmt(l.max, 1)} | ` +
        `${fmt(c.metrics.refresh.meanMs)} (${c.metrics.refresh.count}) | ${fmt(c.metrics.viewLag.meanMs, 1)} | ` +
        `${fmt(c.metrics.publishDelay.meanMs, 1)} |`,
    );
  }
  const breakdown = [
    "where the lag goes (p50 / p99 ms of each segment; the lag runs from the answer, the path from the worker's reply):",
    `| users | refresh | ${segments.map(([name]) => name).join(" | ")} |`,
    `|---:|---|${segments.map(() => "---:|").join("")}`,
  ];
  for (const c of cells) {
    const cols = segments.map(([, f]) => {
      const s = spread(c.samples, f);
      return s.n === 0 ? "n/a" : `${fmt(s.p50, 1)} / ${fmt(s.p99, 1)}`;
    });
    breakdown.push(`| ${usersLabel(c.users)} | ${c.mode} | ${cols.join(" | ")} |`);
  }
  const delay = ruleFor("user.profile_updated")?.refreshDelay;
  breakdown.push(
    "",
    `event → invalidation = JetStream delivery to the consistency role + the rule's coalescing delay (${delay ?? "n/a"} ms ` +
      "for user.profile_updated, user_profile_view's refreshDelay in src/read-models/views/) + the refresh transaction (metric column above) + the " +
      "broadcast; wake → event = the relay's round (it publishes only events older than every running write " +
      "transaction, so a long one, such as a full refresh, holds publication back).",
  );
  const watched = cells.find((c) => c.longWrites !== undefined)?.longWrites;
  if (watched) {
    lag.push(
      "",
      `while the keyed cells ran, ${watched.count} write transactions ran ${watched.thresholdMs} ms or more on the ` +
        `Postgres server (${watched.foreign} in databases other than the two deployments')` +
        (watched.count > 0
          ? `, the longest ${fmt(watched.longestMs, 0)} ms (\`${watched.longestQuery}\`)`
          : "") +
        ": each holds back the relays of every database on the server while it runs (src/outbox/sql.ts).",
    );
    const perSample = cells.flatMap((c) =>
      c.blocks && c.samples.length > 0
        ? [
            `${usersLabel(c.users)} ${fmt(c.blocks.read / c.samples.length, 1)} of ` +
              `${fmt((c.blocks.read + c.blocks.hit) / c.samples.length, 0)}`,
          ]
        : [],
    );
    if (perSample.length > 0)
      lag.push(
        `block reads per sample that missed Postgres's shared buffers, of all its block reads (pg_stat_database, ` +
          `whole database): ${perSample.join("; ")}`,
      );
  }
  return [...lag, "", ...breakdown].join("\n");
}
