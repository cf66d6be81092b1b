/** The `command_results` table: the stored outcome of every applied (or rejected) command. */
import type { SqlClient } from "../write-model";
import type { CommandEnvelope, CommandOutcome } from "./envelope";

/** A stored outcome with the payload hash it was stored under. */
export interface StoredOutcome {
  readonly payloadHash: string;
  readonly outcome: CommandOutcome;
}

/** Reads a command's stored outcome (not marked as a duplicate). */
export async function findStoredOutcome(
  client: SqlClient,
  commandId: string,
): Promise<StoredOutcome | undefined> {
  const res = await client.query<{ payload_hash: string; result: CommandOutcome }>(
    "SELECT payload_hash, result FROM command_results WHERE command_id = $1",
    [commandId],
  );
  const row = res.rows[0];
  return row ? { payloadHash: row.payload_hash, outcome: row.result } : undefined;
}

/** Stores a command's outcome; the primary key makes a second store of the same id fail (23505). */
export async function storeOutcome(
  client: SqlClient,
  envelope: CommandEnvelope,
  outcome: CommandOutcome,
): Promise<void> {
  const stored: CommandOutcome = outcome.ok
    ? outcome
    : { ok: false, error: { name: "AppError", code: outcome.error.code, message: outcome.error.message } };
  await client.query(
    `INSERT INTO command_results (command_id, command_type, aggregate_type, aggregate_id, payload_hash, result)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [
      envelope.commandId,
      envelope.commandType,
      envelope.aggregateType,
      envelope.aggregateId,
      envelope.payloadHash,
      JSON.stringify(stored),
    ],
  );
}
