/**
 * Where a query reads its rows: the read views (tables kept like materialized views), or their one
 * definition, the SQL view `<view>_source`, evaluated over the write model for the requested keys (strong
 * reads and fallbacks). Both have the same columns and meaning (sql/0004_read_views.sql), so one query text
 * serves both with the relation swapped, and its answer has the same shape either way.
 */
import type { ViewName } from "../read-models";

/** A place to read view rows from. */
export interface ReadSource {
  /** True for the write model (the views' definitions), false for the views' tables. */
  readonly writeModel: boolean;
  /** The relation holding `view`'s rows in this source. */
  relation(view: ViewName): string;
  /** The name a query's prepared statement has for this source (one per source and query). */
  statement(name: string): string;
}

/** The read views' tables (the default). */
export const VIEWS: ReadSource = {
  writeModel: false,
  relation: (view) => view,
  statement: (name) => `q_${name}`,
};

/** The views' definitions over the write model: current, never stale. */
export const WRITE_MODEL: ReadSource = {
  writeModel: true,
  relation: (view) => `${view}_source`,
  statement: (name) => `q_${name}_wm`,
};
