/**
 * The second round trip of a command batch: each command's part of the ONE write statement (its state, written
 * by its aggregate's store in {@link decideInto}; its outbox events; its stored result; the claim-check
 * content it used), and the statement that joins the parts (db/combined-statement.ts). The columns each part
 * returns are named and typed here only: callers get {@link WrittenPart}s.
 */

import type { CommandEnvelope, CommandOutcome, WirePayload } from "../contracts";
import { combineParts, PART_SCOPE, type StatementPart } from "../db/combined-statement";
import { SqlBuilder } from "../db/sql-builder";
import type { SqlClient } from "../db/sql-client";
import { AppError } from "../errors";
import type { Decision } from "./aggregates";
import { storableOutcome, tokenOf } from "./command-results";

/** A builder for one command's part of a batch's statement. */
export function partBuilder(): SqlBuilder {
  return new SqlBuilder().scoped(PART_SCOPE);
}

/**
 * Adds the outbox events of a decision (`ev`) and the point of the command's token (`tok`): its last event,
 * or, when it emitted none, the aggregate's last event.
 */
export function appendEvents(b: SqlBuilder, envelope: CommandEnvelope, decision: Decision): void {
  if (decision.events.length > 0) {
    const first = decision.version - decision.events.length + 1;
    b.cte(
      "ev",
      `INSERT INTO events (aggregate_type, aggregate_id, aggregate_version, type, payload, metadata)
           SELECT ${b.param(envelope.aggregateType, "text")}, ${b.param(envelope.aggregateId, "uuid")}, v, t, p,
                  ${b.param(JSON.stringify(eventMetadata(envelope)), "jsonb")}
             FROM unnest(${b.param(
               decision.events.map((_, i) => first + i),
               "bigint[]",
             )},
                         ${b.param(
                           decision.events.map((e) => e.type),
                           "text[]",
                         )},
                         ${b.param(
                           decision.events.map((e) => JSON.stringify(e.data)),
                           "jsonb[]",
                         )}) AS e(v, t, p)
           RETURNING position, transaction_id`,
    );
    b.cte("tok", `SELECT transaction_id, position FROM ${b.ref("ev")} ORDER BY position DESC LIMIT 1`);
  } else {
    b.cte(
      "tok",
      `SELECT transaction_id, position FROM events WHERE aggregate_id = ${b.param(envelope.aggregateId, "uuid")}
            ORDER BY aggregate_version DESC LIMIT 1`,
    );
  }
}

/**
 * The metadata of a command's events: which command wrote them, for whom, and (while tracing is on) the
 * command's trace context, which the outbox relay's publish span continues.
 */
function eventMetadata(envelope: CommandEnvelope): Record<string, unknown> {
  const metadata = {
    commandId: envelope.commandId,
    commandType: envelope.commandType,
    actor: envelope.actor,
  };
  return envelope.traceparent === undefined ? metadata : { ...metadata, traceparent: envelope.traceparent };
}

/**
 * Adds the command's stored result (`stored`), with the point of its token when {@link appendEvents} named
 * one, and the removal of its claim-check content when it used some.
 */
export function storeResult(
  b: SqlBuilder,
  envelope: CommandEnvelope,
  outcome: CommandOutcome,
  claimed: boolean,
): void {
  const tok = b.has("tok") ? b.ref("tok") : undefined;
  b.cte(
    "stored",
    `INSERT INTO command_results (command_id, command_type, aggregate_type, aggregate_id, payload_hash, result,
                                    token_transaction_id, token_position)
       SELECT ${b.param(envelope.commandId, "text")}, ${b.param(envelope.commandType, "text")},
              ${b.param(envelope.aggregateType, "text")}, ${b.param(envelope.aggregateId, "uuid")},
              ${b.param(envelope.payloadHash, "text")}, ${b.param(JSON.stringify(storableOutcome(outcome, envelope.delivery)), "jsonb")},
              ${tok ? `(SELECT transaction_id FROM ${tok}), (SELECT position FROM ${tok})` : "NULL, NULL"}`,
  );
  if (claimed)
    b.cte("claimed", `DELETE FROM command_blobs WHERE command_id = ${b.param(envelope.commandId, "text")}`);
}

/**
 * The command's part, once everything is added: its result row says how many state rows it wrote (a version
 * check that matched no row, or a row another part updated first, fails the whole statement, see
 * sql/0013_write_version_check.sql) and the point of its token.
 */
export function finishPart(b: SqlBuilder): StatementPart {
  const tok = b.has("tok") ? b.ref("tok") : undefined;
  const tokenCols = tok
    ? `(SELECT transaction_id::text FROM ${tok}) AS tx, (SELECT position FROM ${tok}) AS pos`
    : "NULL::text AS tx, NULL::bigint AS pos";
  return b.part(`${b.expectedRows()} AS state_rows, ${tokenCols}`);
}

/** What a part wrote. */
export interface WrittenPart {
  /** State rows written (1 when its version check held). */
  readonly stateRows: number;
  /** The consistency token of its result. */
  readonly token: string;
}

/** The columns each part's row of the combined statement has (see {@link finishPart}). */
interface WrittenColumns {
  readonly i: number;
  readonly state_rows: number;
  readonly tx: string | null;
  readonly pos: string | null;
}

/** Runs the parts as ONE statement (it commits by itself); what each wrote, in the order of `parts`. */
export async function writeParts(
  client: SqlClient,
  parts: readonly StatementPart[],
): Promise<(WrittenPart | undefined)[]> {
  const { statement, order } = combineParts(parts);
  const res = await client.query<WrittenColumns>(statement);
  const written: (WrittenPart | undefined)[] = new Array(parts.length);
  for (const row of res.rows) {
    written[order[row.i] as number] = { stateRows: row.state_rows, token: tokenOf(row.tx, row.pos) };
  }
  return written;
}

/**
 * The claim-check content of a command (an upload's bytes, a processing result's chunks), or undefined when its
 * payload has none.
 * @throws AppError FAILED_PRECONDITION when the content is gone.
 */
export async function claimBlob(
  client: SqlClient,
  envelope: CommandEnvelope,
): Promise<Uint8Array | undefined> {
  const payload = envelope.payload as WirePayload;
  if (payload.contentRef !== "command_blobs") return undefined;
  const res = await client.query<{ content: Buffer }>({
    name: "claim_blob",
    text: "SELECT content FROM command_blobs WHERE command_id = $1",
    values: [envelope.commandId],
  });
  const row = res.rows[0];
  if (!row)
    throw new AppError(
      "FAILED_PRECONDITION",
      "the document content of this command is missing; upload again",
    );
  return new Uint8Array(row.content);
}
