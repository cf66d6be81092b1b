/**
 * The first round trip of a command batch: for each command, its stored result (when its command id was used
 * before) and its aggregate's state, in ONE statement per aggregate type. The columns of that statement are
 * named and typed here only: callers get {@link CommandRead}s.
 */
import type { AggregateType } from "../contracts";
import type { Row } from "../db/aggregate-store";
import type { SqlClient } from "../db/sql-client";
import { type StoredOutcome, type StoredOutcomeJson, storedOutcomeOf } from "./command-results";
import { aggregateDefinition } from "./stores";

/** What a command is read for: its aggregate and its command id. */
export interface CommandKey {
  readonly aggregateType: AggregateType;
  readonly aggregateId: string;
  readonly commandId: string;
}

/** An aggregate's state as read: whether it exists, and its columns for its store's `fromRow`. */
export interface AggregateRead {
  readonly exists: boolean;
  /** The aggregate's columns (its store's select list); meaningful when it exists. */
  readonly row: Row;
}

/** What the read found for one command. */
export interface CommandRead extends AggregateRead {
  /** The outcome stored for the command id by an earlier command (its token included), if any. */
  readonly stored: StoredOutcome | undefined;
}

/** The read of a command whose aggregate's state the caller keeps: no stored result seen, the aggregate exists. */
export const KNOWN_AGGREGATE: CommandRead = Object.freeze({ stored: undefined, exists: true, row: {} });

/** The columns the read adds before the aggregate's own. */
interface ReadColumns {
  /** The command's 1-based place in the statement's arrays. */
  readonly k_ord: number | string;
  readonly r_hash: string | null;
  readonly r_result: StoredOutcomeJson | null;
  readonly r_tx: string | null;
  readonly r_pos: string | null;
  readonly a_exists: boolean;
}

/**
 * The read of commands of one aggregate type, in ONE statement: `$1` the aggregate ids, `$2` the command ids
 * (same length). One row per command: {@link ReadColumns}, then the aggregate's columns.
 */
export function readStatement(
  type: AggregateType,
  aggregateIds: readonly string[],
  commandIds: readonly string[],
): { name: string; text: string; values: unknown[] } {
  const store = aggregateDefinition(type).store;
  const joins = `LEFT JOIN command_results r ON r.command_id = k.command_id
             LEFT JOIN ${store.table} a ON a.id = k.aggregate_id`;
  const columns = `r.payload_hash AS r_hash, r.result AS r_result, r.token_transaction_id::text AS r_tx,
                  r.token_position AS r_pos, a.id IS NOT NULL AS a_exists, ${store.columns}`;
  if (aggregateIds.length === 1) {
    // One command (the usual case at low load): scalar parameters, whose generic plan Postgres keeps by
    // itself, where arrays make it plan anew on every execution. The command threads force generic plans
    // anyway (db/pool.ts); this form keeps the embedded mode's connection, which plans as Postgres chooses,
    // from planning its most frequent read every time.
    return {
      name: `read_one_${type}`,
      text: `SELECT 1 AS k_ord, ${columns}
               FROM (SELECT $1::uuid AS aggregate_id, $2::text AS command_id) AS k
               ${joins}`,
      values: [aggregateIds[0], commandIds[0]],
    };
  }
  return {
    name: `read_${type}`,
    text: `SELECT k.k_ord, ${columns}
             FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS k(aggregate_id, command_id, k_ord)
             ${joins}`,
    values: [aggregateIds, commandIds],
  };
}

/** Reads `commands` (one statement per aggregate type among them); the reads are in the order given. */
export async function readCommands(
  client: SqlClient,
  commands: readonly CommandKey[],
): Promise<CommandRead[]> {
  const byType = new Map<AggregateType, number[]>();
  commands.forEach((command, i) => {
    const indexes = byType.get(command.aggregateType);
    if (indexes) indexes.push(i);
    else byType.set(command.aggregateType, [i]);
  });
  const reads: CommandRead[] = new Array(commands.length);
  for (const [type, indexes] of byType) {
    const keys = indexes.map((i) => commands[i] as CommandKey);
    const res = await client.query<ReadColumns & Row>(
      readStatement(
        type,
        keys.map((k) => k.aggregateId),
        keys.map((k) => k.commandId),
      ),
    );
    for (const row of res.rows) {
      reads[indexes[Number(row.k_ord) - 1] as number] = {
        stored:
          row.r_hash === null || row.r_result === null
            ? undefined
            : storedOutcomeOf(row.r_hash, row.r_result, row.r_tx, row.r_pos),
        exists: row.a_exists === true,
        row,
      };
    }
  }
  return reads;
}
