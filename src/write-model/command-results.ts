/** The `command_results` table: the stored outcome of every applied (or rejected) command. */

import type { CommandEnvelope, CommandOutcome } from "../contracts";
import { encodeToken, ORIGIN } from "../contracts";
import type { SqlClient } from "../db/sql-client";

/** A stored outcome with the payload hash it was stored under. */
export interface StoredOutcome {
  readonly payloadHash: string;
  readonly outcome: CommandOutcome;
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
  result: CommandOutcome,
  transactionId: string | null,
  position: string | number | null,
): StoredOutcome {
  if (!result.ok) return { payloadHash, outcome: result };
  return {
    payloadHash,
    outcome: { ok: true, result: { ...result.result, position: tokenOf(transactionId, position) } },
  };
}

/** Reads a command's stored outcome (not marked as a duplicate). */
export async function findStoredOutcome(
  client: SqlClient,
  commandId: string,
): Promise<StoredOutcome | undefined> {
  const res = await client.query<{
    payload_hash: string;
    result: CommandOutcome;
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

/** The outcome as stored: errors without stack or violations, results without their token (kept in columns). */
export function storableOutcome(outcome: CommandOutcome): CommandOutcome {
  return outcome.ok
    ? { ok: true, result: { ...outcome.result, position: "" } }
    : { ok: false, error: { name: "AppError", code: outcome.error.code, message: outcome.error.message } };
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
      JSON.stringify(storableOutcome(outcome)),
    ],
  );
}
