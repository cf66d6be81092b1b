/**
 * Comparing a read view with its source and repairing the rows that drifted (sql/0026_view_reconcile.sql).
 *
 * A row of a view may differ from its source for two reasons: the usual lag (an event that changed it is
 * committed but not applied to the view yet), or drift (a bug: a rule that misses a key, a row changed behind
 * the system's back). {@link repairDrift} tells them apart under the view's refresh lock: with the lock held no
 * refresh of the view commits, so a row that differs although no unapplied event touches it (by the view's own
 * rules) has drifted. Drifted rows are repaired by the keyed refresh, the same SQL path events take.
 */
import { comparePoints, type StreamPoint } from "../contracts";
import type { SqlClient } from "../write-model";
import type { CacheInvalidation } from "./consistency-rules";
import { refreshKeys } from "./refresh";
import type { CacheScope } from "./view-definition";
import { type QueryType, readViews, ruleFor, type ViewName } from "./views";

/** The smallest uuid: where a walk over a view's keys starts. */
export const FIRST_KEY = "00000000-0000-0000-0000-000000000000";

/** A key whose row differs between a view and its source, with the row's user (from either side). */
export interface Difference {
  readonly key: string;
  readonly userId: string;
}

/** The next `batch` keys after `after` held by the view's table or its source, in key order. */
export async function nextViewKeys(
  client: SqlClient,
  view: ViewName,
  after: string,
  batch: number,
): Promise<string[]> {
  const res = await client.query<{ keys: string[] }>("SELECT read_view_next_keys($1, $2, $3) AS keys", [
    view,
    after,
    batch,
  ]);
  return res.rows[0]?.keys ?? [];
}

/** Those of `keys` whose row in the view differs from the source's (missing, extra, or changed). */
export async function viewDifferences(
  client: SqlClient,
  view: ViewName,
  keys: readonly string[],
): Promise<Difference[]> {
  if (keys.length === 0) return [];
  const res = await client.query<{ key: string; user_id: string }>(
    "SELECT key, user_id FROM read_view_differences($1, $2::uuid[])",
    [view, keys],
  );
  return res.rows.map((r) => ({ key: r.key, userId: r.user_id }));
}

/** What {@link repairDrift} found. */
export interface DriftRepair {
  /** Rows that differed with no unapplied event to explain it: repaired (and to be counted as drift). */
  readonly drifted: readonly Difference[];
  /** Rows that differed because an event touching them is not applied yet: left to that event. */
  readonly lagging: number;
  /** True when too many events were unapplied to tell lag from drift: nothing was done. */
  readonly busy: boolean;
  /** The cached answers the repaired rows make stale. */
  readonly invalidations: readonly CacheInvalidation<QueryType>[];
}

/** Unapplied events looked at, at most, to tell lag from drift; more and the batch waits for a quieter time. */
const MAX_UNAPPLIED_EVENTS = 2_000;

/**
 * Re-checks `candidates` of `view` under its refresh lock and repairs those that drifted. Runs its own short
 * transaction on `client` (READ COMMITTED, as refreshes require). The rows are compared first and the
 * unapplied events read after, so an event that explains a difference is always seen.
 */
export async function repairDrift(
  client: SqlClient,
  view: ViewName,
  candidates: readonly string[],
): Promise<DriftRepair> {
  const def = readViews[view];
  await client.query("BEGIN");
  try {
    const lock = await client.query<{ tx: string; pos: string; ctx: string | null; cpos: string | null }>(
      `SELECT s.applied_transaction_id::text AS tx, s.applied_position::text AS pos,
              c.transaction_id::text AS ctx, c.position::text AS cpos
         FROM read_view_state s LEFT JOIN consistency_checkpoint c ON c.name = 'default'
        WHERE s.view_name = $1 FOR UPDATE OF s`,
      [view],
    );
    const row = lock.rows[0];
    if (!row) throw new Error(`read_view_state has no row for ${view}`);
    // Every event up to the view's own point, and up to the coordinator's checkpoint, is in the view.
    let applied: StreamPoint = { transactionId: BigInt(row.tx), position: BigInt(row.pos) };
    if (row.ctx !== null && row.cpos !== null) {
      const checkpoint = { transactionId: BigInt(row.ctx), position: BigInt(row.cpos) };
      if (comparePoints(checkpoint, applied) > 0) applied = checkpoint;
    }
    const differing = await viewDifferences(client, view, candidates);
    if (differing.length === 0) {
      await client.query("COMMIT");
      return { drifted: [], lagging: 0, busy: false, invalidations: [] };
    }
    const events = await client.query<{ type: string; payload: Record<string, unknown> }>(
      `SELECT type, payload FROM events
        WHERE (transaction_id, position) > ($1::xid8, $2::bigint)
        ORDER BY transaction_id, position LIMIT $3`,
      [applied.transactionId.toString(), applied.position.toString(), MAX_UNAPPLIED_EVENTS + 1],
    );
    if (events.rows.length > MAX_UNAPPLIED_EVENTS) {
      await client.query("COMMIT");
      return { drifted: [], lagging: 0, busy: true, invalidations: [] };
    }
    const touched = new Set<string>();
    for (const e of events.rows) {
      for (const r of ruleFor(e.type)?.refreshes({ type: e.type, data: e.payload }) ?? []) {
        if (r.view !== view) continue;
        for (const k of r.keys) touched.add(`${r.column}:${k}`);
      }
    }
    const lagsBehind = (d: Difference) =>
      touched.has(`${def.keyColumn}:${d.key}`) || touched.has(`user_id:${d.userId}`);
    const drifted = differing.filter((d) => !lagsBehind(d));
    await refreshKeys(
      client,
      view,
      def.keyColumn,
      drifted.map((d) => d.key),
    );
    await client.query("COMMIT");
    return {
      drifted,
      lagging: differing.length - drifted.length,
      busy: false,
      invalidations: invalidationsOf(view, drifted),
    };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

const snakeCase = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The cached answers that rows of `view` feed: each query's scope tag of the row's user or key. */
export function invalidationsOf(view: ViewName, rows: readonly Difference[]): CacheInvalidation<QueryType>[] {
  const def = readViews[view];
  const out = new Map<string, CacheInvalidation<QueryType>>();
  for (const [queryType, scope] of Object.entries(def.queries) as [QueryType, CacheScope][]) {
    const column = snakeCase(scope.field);
    for (const row of rows) {
      const id = column === "user_id" ? row.userId : column === def.keyColumn ? row.key : undefined;
      if (id !== undefined) out.set(`${queryType}|${scope.tag(id)}`, { queryType, tag: scope.tag(id) });
    }
  }
  return [...out.values()];
}
