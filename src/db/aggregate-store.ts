/** How an aggregate type is read from and written to its tables. */
import type { SqlBuilder } from "./sql-builder";

/** The aggregate columns of a row of the batch read (see write-model/batch-read.ts). */
export type Row = Record<string, unknown>;

/** The table mapping of one aggregate type. */
export interface AggregateStore<S extends { readonly version: number }, E, C> {
  /** The table holding the aggregate's state, aliased `a` in reads. */
  readonly table: string;
  /** The select list read from `a` (and subqueries correlated to `a`). */
  readonly columns: string;
  /** The state of a row that exists. */
  fromRow(row: Row): S;
  /**
   * Adds the CTEs that write the new state. One must be named `state` and return one row per state row
   * written, so a failed version check (no row updated) is seen and retried.
   */
  save(b: SqlBuilder, before: S, after: S, events: readonly E[], command: C): void;
}

/** `INSERT INTO table (cols) VALUES (params) RETURNING 1` as the `state` CTE. */
export function insertState(b: SqlBuilder, table: string, values: Record<string, [unknown, string]>): void {
  const cols = Object.keys(values);
  const params = cols.map((c) => {
    const [v, cast] = values[c] as [unknown, string];
    return b.param(v, cast);
  });
  b.cte("state", `INSERT INTO ${table} (${cols.join(", ")}) VALUES (${params.join(", ")}) RETURNING 1`);
  b.expectOne("state");
}

/** `UPDATE table SET <sets> WHERE id = .. AND version = .. RETURNING 1` as the `state` CTE. */
export function updateState(b: SqlBuilder, table: string, sets: string, id: string, version: number): void {
  b.cte(
    "state",
    `UPDATE ${table} SET ${sets} WHERE id = ${b.param(id, "uuid")} AND version = ${b.param(version, "bigint")} RETURNING 1`,
  );
  b.expectOne("state");
}
