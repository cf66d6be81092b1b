/**
 * Test support: what the six view tables hold, in the normalized form of `model.testkit.ts` (timestamps as
 * ISO strings, bigints as numbers), and the events of the outbox in the order they were applied.
 */
import type { DomainEvent } from "../domain";
import type { SqlClient } from "../write-model";
import { type SnapshotRow, sortSnapshot, type ViewSnapshot } from "./model.testkit";
import { type ViewName, viewNames } from "./views";

/** Columns of type bigint, which pg returns as strings. */
const BIGINT_COLUMNS: ReadonlySet<string> = new Set(["version", "total_audio_ms"]);

function normalize(row: Record<string, unknown>): SnapshotRow {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [column, value] of Object.entries(row)) {
    if (value instanceof Date) out[column] = value.toISOString();
    else if (BIGINT_COLUMNS.has(column) && typeof value === "string") out[column] = Number(value);
    else out[column] = value as string | number | boolean | null;
  }
  return out;
}

/** Every view's rows as they are now. */
export async function snapshotViews(client: SqlClient): Promise<ViewSnapshot> {
  const views = {} as { [V in ViewName]: SnapshotRow[] };
  for (const view of viewNames) {
    const res = await client.query(`SELECT * FROM ${view}`);
    views[view] = res.rows.map(normalize);
  }
  return sortSnapshot(views);
}

/** Every view's rows as its source defines them right now (what a full refresh would write). */
export async function snapshotSources(client: SqlClient): Promise<ViewSnapshot> {
  const views = {} as { [V in ViewName]: SnapshotRow[] };
  for (const view of viewNames) {
    const res = await client.query(`SELECT * FROM ${view}_source`);
    views[view] = res.rows.map(normalize);
  }
  return sortSnapshot(views);
}

/** The domain events of the outbox, in the order they were applied (positions of sequential commands). */
export async function outboxEvents(client: SqlClient): Promise<DomainEvent[]> {
  const res = await client.query<{ type: string; payload: unknown }>(
    "SELECT type, payload FROM events ORDER BY position",
  );
  return res.rows.map((r) => ({ type: r.type, data: r.payload }) as DomainEvent);
}
