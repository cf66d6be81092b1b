/**
 * `read_view_state`: how far each view has followed the event stream.
 *
 * The consistency worker advances a view's point to the (transaction id, position) of the last event it
 * applied, in the same transaction as the refresh that applied it; the point only moves forward (tokens
 * order by that pair, see src/contracts/consistency-token.ts). A query that must reflect token T can be
 * answered from a view whose applied point is at or after T.
 */
import { comparePoints, type StreamPoint } from "../contracts";
import type { SqlClient } from "../write-model";
import { type ViewName, viewNames } from "./views";

/** The state of one view. */
export interface ViewState {
  readonly view: ViewName;
  /** The last event applied to the view (ORIGIN before any). */
  readonly applied: StreamPoint;
  /** When rows of the view were last refreshed (keyed or full); null before the first refresh. */
  readonly refreshedAt: Date | null;
  /** When the view was last refreshed whole; null if never. */
  readonly lastFullRefreshAt: Date | null;
}

interface StateRow {
  view_name: ViewName;
  applied_transaction_id: string;
  applied_position: string;
  refreshed_at: Date | null;
  last_full_refresh_at: Date | null;
}

function toState(row: StateRow): ViewState {
  return {
    view: row.view_name,
    applied: { transactionId: BigInt(row.applied_transaction_id), position: BigInt(row.applied_position) },
    refreshedAt: row.refreshed_at,
    lastFullRefreshAt: row.last_full_refresh_at,
  };
}

/** The state of every view, in registry order. */
export async function readViewStates(client: SqlClient): Promise<ViewState[]> {
  const res = await client.query<StateRow>(
    `SELECT s.view_name, s.applied_transaction_id::text AS applied_transaction_id, s.applied_position,
            s.refreshed_at, s.last_full_refresh_at
       FROM read_view_state s JOIN read_views v ON v.name = s.view_name
      ORDER BY v.ordinal`,
  );
  return res.rows.map(toState);
}

/** The state of one view. */
export async function readViewState(client: SqlClient, view: ViewName): Promise<ViewState> {
  const res = await client.query<StateRow>(
    `SELECT view_name, applied_transaction_id::text AS applied_transaction_id, applied_position,
            refreshed_at, last_full_refresh_at
       FROM read_view_state WHERE view_name = $1`,
    [view],
  );
  const row = res.rows[0];
  if (!row) throw new Error(`read_view_state has no row for ${view}`);
  return toState(row);
}

/**
 * Moves the view's applied point to `point` if that is after the current one.
 * @returns true when it moved; false when the view was already at or after `point`.
 */
export async function advanceViewState(
  client: SqlClient,
  view: ViewName,
  point: StreamPoint,
): Promise<boolean> {
  const res = await client.query(
    `UPDATE read_view_state
        SET applied_transaction_id = $2::xid8, applied_position = $3::bigint
      WHERE view_name = $1 AND (applied_transaction_id, applied_position) < ($2::xid8, $3::bigint)`,
    [view, point.transactionId.toString(), point.position.toString()],
  );
  return res.rowCount === 1;
}

/**
 * {@link advanceViewState} for several views, one at a time in registry order (the order refreshes lock
 * them in). Returns the views that moved.
 */
export async function advanceViewStates(
  client: SqlClient,
  views: readonly ViewName[],
  point: StreamPoint,
): Promise<ViewName[]> {
  const wanted = new Set(views);
  const moved: ViewName[] = [];
  for (const view of viewNames) {
    if (wanted.has(view) && (await advanceViewState(client, view, point))) moved.push(view);
  }
  return moved;
}

/** True when the view has applied every event up to and including `point`. */
export function hasApplied(state: ViewState, point: StreamPoint): boolean {
  return comparePoints(state.applied, point) >= 0;
}
