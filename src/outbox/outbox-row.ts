/** An outbox row as the relay reads it, and the {@link PublishedEvent} made from it. */
import type { StreamPoint } from "../contracts";
import { createPublishedEvent, type PublishedEvent } from "./published-event";

/** An `events` row as the relay reads it (64-bit numbers as decimal strings). */
export interface OutboxRow {
  readonly event_id: string;
  readonly type: string;
  readonly aggregate_type: string;
  readonly aggregate_id: string;
  readonly aggregate_version: string;
  readonly position: string;
  readonly transaction_id: string;
  readonly committed_at: Date;
  readonly payload: Record<string, unknown>;
  readonly metadata: Record<string, unknown>;
  /** Whether committed events wait behind a running transaction (the same for every row of a batch). */
  readonly held_back?: boolean;
}

/** A row of `SELECT_BATCH_SQL`: an {@link OutboxRow}, or the one row of an empty batch (event columns null). */
export type BatchRow = Omit<OutboxRow, "event_id" | "held_back"> & {
  readonly event_id: string | null;
  readonly held_back: boolean;
};

/** The events of a batch's rows (the row of an empty batch dropped). */
export function batchRows(rows: readonly BatchRow[]): OutboxRow[] {
  return rows.filter((r): r is BatchRow & OutboxRow => r.event_id !== null);
}

/** The message made from a row. */
export function toPublishedEvent(row: OutboxRow): PublishedEvent {
  return createPublishedEvent({
    eventId: row.event_id,
    type: row.type,
    aggregateType: row.aggregate_type,
    aggregateId: row.aggregate_id,
    aggregateVersion: Number(row.aggregate_version),
    position: row.position,
    transactionId: row.transaction_id,
    committedAt: row.committed_at.toISOString(),
    data: row.payload,
    metadata: row.metadata,
  });
}

/** A checkpoint row (`READ_CHECKPOINT_SQL`) as a point. */
export function checkpointOf(row: { transaction_id: string; position: string }): StreamPoint {
  return { transactionId: BigInt(row.transaction_id), position: BigInt(row.position) };
}
