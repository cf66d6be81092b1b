/** The `command_results` table: the stored outcome of every applied (or rejected) command. */

import type { CommandEnvelope, CommandOutcome } from "../contracts";
import { encodeToken, ORIGIN } from "../contracts";
import type { SqlClient } from "../db/sql-client";

/** A stored outcome with the payload hash it was stored under. */
export interface StoredOutcome {
  readonly payloadHash: string;
  readonly outcome: CommandOutcome;
  /** The bus message it was written for, if known (see {@link CommandEnvelope.delivery}). */
  readonly delivery?: string;
}

/**
 * The consistency token of a command's result from the columns that hold its point (transaction id,
 * position): the origin's when there is none (an aggregate without events).
 */
export function tokenOf(transactionId: string | null, position: string | number | null): string {
  return transactionId === null || position === null
    ? encodeToken(ORIGIN)
    : encodeToken({ transactionId: BigInt(transactionId), position: BigInt(position) });
}

/** Rebuilds a stored outcome from its columns: the result, and the point its token encodes. */
export function storedOutcomeOf(
  payloadHash: string,
  result: StoredOutcomeJson,
  transactionId: string | null,
  position: string | number | null,
): StoredOutcome {
  const delivery = result.delivery === undefined ? {} : { delivery: result.delivery };
  if (!result.ok) return { payloadHash, outcome: { ok: false, error: result.error }, ...delivery };
  return {
    payloadHash,
    outcome: { ok: true, result: { ...result.result, position: tokenOf(transactionId, position) } },
    ...delivery,
  };
}

/** Reads a command's stored outcome (not marked as a duplicate). */
export async function findStoredOutcome(
  client: SqlClient,
  commandId: string,
): Promise<StoredOutcome | undefined> {
  const res = await client.query<{
    payload_hash: string;
    result: StoredOutcomeJson;
    tx: string | null;
    pos: string | null;
  }>({
    name: "find_stored_outcome",
    text: `SELECT payload_hash, result, token_transaction_id::text AS tx, token_position AS pos
             FROM command_results WHERE command_id = $1`,
    values: [commandId],
  });
  const row = res.rows[0];
  return row ? storedOutcomeOf(row.payload_hash, row.result, row.tx, row.pos) : undefined;
}

/** An outcome as stored in `command_results.result`: with the bus message it was written for, if any. */
export type StoredOutcomeJson = CommandOutcome & { readonly delivery?: string };

/**
 * The outcome as stored: errors without stack or violations, results without their token (kept in columns),
 * and the envelope's `delivery` (see {@link CommandEnvelope.delivery}).
 */
export function storableOutcome(outcome: CommandOutcome, delivery?: string): StoredOutcomeJson {
  const stored: CommandOutcome = outcome.ok
    ? { ok: true, result: { ...outcome.result, position: "" } }
    : { ok: false, error: { name: "AppError", code: outcome.error.code, message: outcome.error.message } };
  return delivery === undefined ? stored : { ...stored, delivery };
}

/**
 * True when a stored outcome was written for this very bus message (a redelivery after a crash answered from
 * it): the client sent the command once, so the answer is not a duplicate.
 */
export function storedForThisDelivery(stored: StoredOutcome, envelope: CommandEnvelope): boolean {
  return envelope.delivery !== undefined && stored.delivery === envelope.delivery;
}

/** Stores a rejected command's outcome on its own (after its transaction was rolled back). */
export async function storeOutcome(
  client: SqlClient,
  envelope: CommandEnvelope,
  outcome: CommandOutcome,
): Promise<void> {
  await client.query(
    `INSERT INTO command_results (command_id, command_type, aggregate_type, aggregate_id, payload_hash, result)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (command_id) DO NOTHING`,
    [
      envelope.commandId,
      envelope.commandType,
      envelope.aggregateType,
      envelope.aggregateId,
      envelope.payloadHash,
      JSON.stringify(storableOutcome(outcome, envelope.delivery)),
    ],
  );
}
