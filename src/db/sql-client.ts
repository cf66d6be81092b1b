/**
 * The slice of a `pg` client the write model needs: one open connection inside a transaction.
 */
import type pg from "pg";

/** A connection that can run parameterised queries (a PoolClient, a Client, or the embedded adapter). */
export type SqlClient = Pick<pg.ClientBase, "query">;

/** ISO-8601 text of a timestamp column (pg returns Date for timestamptz), or null. */
export function iso(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}

/** ISO-8601 text of a NOT NULL timestamp column. */
export function isoRequired(value: Date | string): string {
  return iso(value) as string;
}

/** Raised when an optimistic version check fails: the command is retried on fresh state. */
export class VersionConflict extends Error {
  override readonly name = "VersionConflict";
  constructor(
    readonly aggregateType: string,
    readonly aggregateId: string,
  ) {
    super(`${aggregateType} ${aggregateId} changed concurrently`);
  }
}
