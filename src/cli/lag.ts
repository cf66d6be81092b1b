/**
 * `cli lag`: how far each read view is behind the published event stream.
 *
 * A view's applied point (read_view_state) moves only when an event that concerns it is applied, and the
 * consistency checkpoint is the point up to which every view has applied everything. So the events a view
 * still owes are the published events after both points whose consistency rule refreshes that view: counting
 * every event after a view's applied point would report a quiet view (no face model events for an hour) as
 * far behind when it is not.
 */
import { comparePoints, ORIGIN, type StreamPoint } from "../contracts";
import { createPublishedEvent, type PublishedEvent } from "../outbox/published-event";
import { UNPUBLISHED_WHERE } from "../outbox/sql";
import { readViewStates, ruleFor, type ViewName, type ViewState } from "../read-models";
import type { SqlClient } from "../write-model";
import { formatTable } from "./table";

/** The lag of one view. */
export interface ViewLag {
  readonly view: ViewName;
  /** The last event the view applied (read_view_state). */
  readonly applied: StreamPoint;
  /** Published events that concern the view and that it has not applied. */
  readonly behind: number;
  /** True when the count stopped at the scan limit: `behind` is then a lower bound. */
  readonly capped: boolean;
  /** Age of the oldest such event (now - its commit time), ms; null when the view is caught up. */
  readonly oldestUnappliedAgeMs: number | null;
  readonly refreshedAt: Date | null;
}

/** Everything `cli lag` prints. */
export interface LagReport {
  /** The database's clock when read. */
  readonly at: Date;
  /** The newest published event (the relay's checkpoint) and when it was committed. */
  readonly newestPublished: { readonly point: StreamPoint; readonly committedAt: Date | null };
  /** The consistency checkpoint: every view has applied every event up to here. */
  readonly complete: StreamPoint;
  /** Events in the outbox not published yet (the relay's own lag), and the age of the oldest, ms. */
  readonly unpublished: { readonly count: number; readonly oldestAgeMs: number | null };
  readonly views: readonly ViewLag[];
}

/** A published event as `lag` needs it. */
export interface LagEvent {
  readonly event: PublishedEvent;
  readonly point: StreamPoint;
  readonly committedAt: Date;
}

/** Most published events read to count the lag; past it counts are lower bounds. */
export const DEFAULT_SCAN_LIMIT = 100_000;

const maxPoint = (a: StreamPoint, b: StreamPoint) => (comparePoints(a, b) >= 0 ? a : b);

function concerns(e: PublishedEvent, view: ViewName): boolean {
  return (
    ruleFor(e.type)
      ?.refreshes(e)
      .some((r) => r.view === view) ?? false
  );
}

/**
 * The lag of each view, from its state, the consistency checkpoint and the published events after the
 * lowest of those points (in published order). Pure.
 */
export function computeViewLags(
  states: readonly ViewState[],
  complete: StreamPoint,
  events: readonly LagEvent[],
  now: Date,
  capped = false,
): ViewLag[] {
  return states.map((s) => {
    const from = maxPoint(s.applied, complete);
    let behind = 0;
    let oldest: Date | undefined;
    for (const e of events) {
      if (comparePoints(e.point, from) <= 0 || !concerns(e.event, s.view)) continue;
      behind++;
      if (oldest === undefined || e.committedAt < oldest) oldest = e.committedAt;
    }
    return {
      view: s.view,
      applied: s.applied,
      behind,
      capped: capped && behind > 0,
      oldestUnappliedAgeMs: oldest === undefined ? null : Math.max(0, now.getTime() - oldest.getTime()),
      refreshedAt: s.refreshedAt,
    };
  });
}

interface EventRow {
  event_id: string;
  type: string;
  aggregate_type: string;
  aggregate_id: string;
  aggregate_version: number;
  position: string;
  transaction_id: string;
  committed_at: Date;
  payload: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** Reads the lag of every view. */
export async function readLag(db: SqlClient, scanLimit = DEFAULT_SCAN_LIMIT): Promise<LagReport> {
  const states = await readViewStates(db);
  const head = await db.query<{
    at: Date;
    cp_tx: string | null;
    cp_pos: string | null;
    relay_tx: string | null;
    relay_pos: string | null;
  }>(
    `SELECT now() AS at,
            (SELECT transaction_id::text FROM consistency_checkpoint WHERE name = 'default') AS cp_tx,
            (SELECT position::text FROM consistency_checkpoint WHERE name = 'default') AS cp_pos,
            (SELECT last_published_transaction_id::text FROM outbox_relay_state WHERE name = 'default') AS relay_tx,
            (SELECT last_published_position::text FROM outbox_relay_state WHERE name = 'default') AS relay_pos`,
  );
  const h = head.rows[0];
  if (!h) throw new Error("no answer from the database");
  // With the checkpoint's values as parameters, so the count walks the index from there (see UNPUBLISHED_WHERE).
  const backlog = await db.query<{ unpublished: number; oldest_unpublished: Date | null }>(
    `SELECT count(*)::int AS unpublished, min(committed_at) AS oldest_unpublished
       FROM events e WHERE ${UNPUBLISHED_WHERE}`,
    [h.relay_tx ?? "0", h.relay_pos ?? "0"],
  );
  const b = backlog.rows[0] ?? { unpublished: 0, oldest_unpublished: null };
  const point = (tx: string | null, pos: string | null): StreamPoint =>
    tx === null || pos === null ? ORIGIN : { transactionId: BigInt(tx), position: BigInt(pos) };
  const complete = point(h.cp_tx, h.cp_pos);
  const newest = point(h.relay_tx, h.relay_pos);
  const newestCommitted = await db.query<{ committed_at: Date }>(
    "SELECT committed_at FROM events WHERE position = $1 AND transaction_id = $2::xid8",
    [newest.position.toString(), newest.transactionId.toString()],
  );

  // Everything any view may still owe lies after the lowest of the views' starting points.
  const from = states.reduce<StreamPoint | undefined>((low, s) => {
    const p = maxPoint(s.applied, complete);
    return low === undefined || comparePoints(p, low) < 0 ? p : low;
  }, undefined);
  const rows =
    from === undefined || comparePoints(from, newest) >= 0
      ? []
      : (
          await db.query<EventRow>(
            `SELECT event_id, type, aggregate_type, aggregate_id, aggregate_version::int AS aggregate_version,
                    position::text AS position, transaction_id::text AS transaction_id, committed_at, payload,
                    metadata
               FROM events
              WHERE (transaction_id, position) > ($1::xid8, $2::bigint)
                AND (transaction_id, position) <= ($4::xid8, $5::bigint)
              ORDER BY transaction_id, position
              LIMIT $3`,
            [
              from.transactionId.toString(),
              from.position.toString(),
              scanLimit,
              newest.transactionId.toString(),
              newest.position.toString(),
            ],
          )
        ).rows;
  const events = rows.map(
    (r): LagEvent => ({
      point: { transactionId: BigInt(r.transaction_id), position: BigInt(r.position) },
      committedAt: r.committed_at,
      event: createPublishedEvent({
        eventId: r.event_id,
        type: r.type,
        aggregateType: r.aggregate_type,
        aggregateId: r.aggregate_id,
        aggregateVersion: r.aggregate_version,
        position: r.position,
        transactionId: r.transaction_id,
        committedAt: r.committed_at.toISOString(),
        data: r.payload,
        metadata: r.metadata,
      }),
    }),
  );
  return {
    at: h.at,
    newestPublished: { point: newest, committedAt: newestCommitted.rows[0]?.committed_at ?? null },
    complete,
    unpublished: {
      count: b.unpublished,
      oldestAgeMs:
        b.oldest_unpublished === null ? null : Math.max(0, h.at.getTime() - b.oldest_unpublished.getTime()),
    },
    views: computeViewLags(states, complete, events, h.at, rows.length >= scanLimit),
  };
}

const showPoint = (p: StreamPoint) =>
  comparePoints(p, ORIGIN) === 0 ? "-" : `${p.transactionId}/${p.position}`;
const ago = (at: Date, then: Date | null) =>
  then === null ? "never" : `${((at.getTime() - then.getTime()) / 1000).toFixed(1)}s ago`;

/** The report as text: a header and one row per view. */
export function formatLag(report: LagReport): string {
  const { newestPublished: n, unpublished: u } = report;
  const header = [
    `newest published event: ${showPoint(n.point)}${n.committedAt ? ` (committed ${ago(report.at, n.committedAt)})` : ""}`,
    `consistency checkpoint (every view applied up to): ${showPoint(report.complete)}`,
    `not yet published by the relay: ${u.count}${u.oldestAgeMs === null ? "" : ` (oldest ${u.oldestAgeMs} ms)`}`,
  ];
  const table = formatTable(
    ["view", "applied (xid/position)", "events behind", "oldest unapplied ms", "refreshed"],
    report.views.map((v) => [
      v.view,
      showPoint(v.applied),
      v.capped ? `>=${v.behind}` : v.behind,
      v.oldestUnappliedAgeMs ?? "-",
      ago(report.at, v.refreshedAt),
    ]),
  );
  return `${header.join("\n")}\n\n${table}`;
}

/** The report as JSON (points as decimal strings). */
export function lagToJson(report: LagReport): unknown {
  const p = (point: StreamPoint) => ({
    transactionId: point.transactionId.toString(),
    position: point.position.toString(),
  });
  return {
    at: report.at.toISOString(),
    newestPublished: {
      ...p(report.newestPublished.point),
      committedAt: report.newestPublished.committedAt?.toISOString() ?? null,
    },
    complete: p(report.complete),
    unpublished: report.unpublished,
    views: report.views.map((v) => ({
      view: v.view,
      applied: p(v.applied),
      behind: v.behind,
      capped: v.capped,
      oldestUnappliedAgeMs: v.oldestUnappliedAgeMs,
      refreshedAt: v.refreshedAt?.toISOString() ?? null,
    })),
  };
}
