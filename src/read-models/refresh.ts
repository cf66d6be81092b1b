/**
 * Refreshing read views through the SQL functions of sql/0004_read_views.sql.
 *
 * A refresh locks its view's `read_view_state` row until the caller's transaction ends and then diffs on a
 * fresh snapshot, so run it under READ COMMITTED (the default) and commit soon. To refresh several views in
 * one transaction use {@link refreshMany}: it locks them in registry order, so concurrent workers never
 * deadlock on each other.
 */
import { AppError } from "../errors";
import type { SqlClient } from "../write-model";
import type { ViewRefresh } from "./view-definition";
import { isRefreshColumn, isViewName, type ViewName, viewNames } from "./views";

/** Rows a refresh wrote (inserted or changed) and deleted; rows that did not change are not counted. */
export interface RefreshCount {
  readonly upserted: number;
  readonly deleted: number;
}

/** Rows of one view to recompute: those whose `column` (primary key or `user_id`) is one of `keys`. */
export type KeyedRefresh = ViewRefresh<ViewName>;

const NOTHING: RefreshCount = { upserted: 0, deleted: 0 };

function check(view: string, column?: string): asserts view is ViewName {
  if (!isViewName(view)) throw new AppError("INTERNAL", `unknown read view "${view}"`);
  if (column !== undefined && !isRefreshColumn(view, column)) {
    throw new AppError("INTERNAL", `read view "${view}" cannot be refreshed by "${column}"`);
  }
}

/**
 * Recomputes the rows of `view` whose `column` is in `keys` (uuids): upserts those the source yields and
 * that changed, deletes those it no longer yields. No keys: nothing is done (and nothing locked).
 */
export async function refreshKeys(
  client: SqlClient,
  view: ViewName,
  column: string,
  keys: readonly string[],
): Promise<RefreshCount> {
  check(view, column);
  const unique = [...new Set(keys)].sort();
  if (unique.length === 0) return NOTHING;
  const res = await client.query<RefreshCount>(
    "SELECT upserted, deleted FROM refresh_read_view_keys($1, $2, $3::uuid[])",
    [view, column, unique],
  );
  return res.rows[0] ?? NOTHING;
}

/** Recomputes every row of `view` (same diff as {@link refreshKeys}, over all keys). */
export async function refreshFull(client: SqlClient, view: ViewName): Promise<RefreshCount> {
  check(view);
  const res = await client.query<RefreshCount>("SELECT upserted, deleted FROM refresh_read_view_full($1)", [
    view,
  ]);
  return res.rows[0] ?? NOTHING;
}

/** Full refresh of all six views (`refresh_all_materialized_views()`); returns the rows written or deleted. */
export async function refreshAll(client: SqlClient): Promise<number> {
  const res = await client.query<{ changed: number }>("SELECT refresh_all_materialized_views() AS changed");
  return res.rows[0]?.changed ?? 0;
}

/**
 * Applies several keyed refreshes: keys of the same view and column are merged into one call, and views are
 * refreshed in registry order (primary key before user_id). Returns the totals over all views.
 */
export async function refreshMany(
  client: SqlClient,
  refreshes: readonly KeyedRefresh[],
): Promise<RefreshCount> {
  const merged = new Map<string, { view: ViewName; column: string; keys: Set<string> }>();
  for (const r of refreshes) {
    check(r.view, r.column);
    const id = `${r.view}\u0000${r.column}`;
    const entry = merged.get(id) ?? { view: r.view, column: r.column, keys: new Set<string>() };
    for (const key of r.keys) entry.keys.add(key);
    merged.set(id, entry);
  }
  const rank = (e: { view: ViewName; column: string }) =>
    viewNames.indexOf(e.view) * 2 + (e.column === "user_id" ? 1 : 0);
  const ordered = [...merged.values()].sort((a, b) => rank(a) - rank(b));
  let upserted = 0;
  let deleted = 0;
  for (const e of ordered) {
    const count = await refreshKeys(client, e.view, e.column, [...e.keys]);
    upserted += count.upserted;
    deleted += count.deleted;
  }
  return { upserted, deleted };
}
