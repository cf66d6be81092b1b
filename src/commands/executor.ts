/**
 * Applies a batch of commands (one per aggregate) in ONE Postgres transaction: group commit. (A batch of one
 * runs without BEGIN/COMMIT: its single write statement commits itself.)
 *
 * Each command costs two round trips: one read (its stored result, if any, and its aggregate's state) and one
 * write statement that carries everything it changes — the state (with an optimistic version check), child
 * rows, the outbox events and the stored result — as data-modifying CTEs. Statements are prepared once per
 * connection. Per command:
 *   1. a stored result for the command id answers it (`duplicate: true`), or INVALID_ARGUMENT when the payload
 *      differs;
 *   2. otherwise decide; a domain rejection is stored too (a retry gets the same answer), and so is ABORTED for a
 *      command whose caller's deadline passed before it ran (it is not applied).
 * The batch has no savepoints: when any command's statement fails, the transaction is rolled back and every
 * command of the batch is applied again on its own, where a version conflict or deadlock is retried with
 * bounded backoff, a taken email is stored as ALREADY_EXISTS, and anything else answers that command alone.
 * Only a lost connection or a failed COMMIT answers UNAVAILABLE, without storing anything, so the transport
 * delivers those commands again.
 */
import { AppError, isConnectionError } from "../errors";
import {
  type Decision,
  decideInto,
  readStatement,
  SqlBuilder,
  type SqlClient,
  VersionConflict,
} from "../write-model";
import { storableOutcome, storedOutcomeOf, storeOutcome } from "./command-results";
import { encodeToken } from "./consistency-token";
import type { CommandEnvelope, CommandOutcome } from "./envelope";
import { failed, markDuplicate, reusedIdOutcome } from "./outcomes";
import { fromWire, type WirePayload } from "./payload";

/** A connection the executor can take for one transaction. */
export interface TransactionClient extends SqlClient {
  release(error?: Error | boolean): void;
}

/** Options of {@link createCommandExecutor}. */
export interface CommandExecutorOptions {
  /** Takes a connection for one transaction. */
  readonly connect: () => Promise<TransactionClient>;
  readonly now?: () => Date;
  readonly newId?: () => string;
  /** Attempts per command on version conflicts. */
  readonly maxAttempts?: number;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** Applies batches of commands. */
export type CommandExecutor = (batch: readonly CommandEnvelope[]) => Promise<readonly CommandOutcome[]>;

type BatchRun =
  | { readonly kind: "committed"; readonly outcomes: CommandOutcome[] }
  | { readonly kind: "failed"; readonly error: unknown }
  | { readonly kind: "unavailable"; readonly error: unknown };

const RETRYABLE_PG_CODES = new Set(["40001", "40P01"]);

/** Creates the executor used by every command thread (and the embedded mode). */
export function createCommandExecutor(options: CommandExecutorOptions): CommandExecutor {
  const now = options.now ?? (() => new Date());
  const newId = options.newId ?? (() => crypto.randomUUID());
  const maxAttempts = options.maxAttempts ?? 8;

  async function applyOne(client: SqlClient, envelope: CommandEnvelope): Promise<CommandOutcome> {
    const read = await client.query(
      readStatement(envelope.aggregateType, envelope.aggregateId, envelope.commandId),
    );
    const row = read.rows[0] as Record<string, unknown>;
    if (row.r_hash !== null && row.r_hash !== undefined) {
      if (row.r_hash !== envelope.payloadHash) return reusedIdOutcome();
      const stored = storedOutcomeOf(
        row.r_hash as string,
        row.r_result as CommandOutcome,
        row.r_tx as string | null,
        row.r_pos as string | null,
      );
      return markDuplicate(stored.outcome);
    }
    const b = new SqlBuilder();
    let decision: Decision | AppError;
    let blob: Uint8Array | undefined;
    if (envelope.deadline !== undefined && envelope.deadline < Date.now()) {
      // The caller stopped waiting before it ran: it is not applied, and that answer is stored, so a retry
      // with the same id (which JetStream would drop as a duplicate for two minutes) is told at once.
      decision = new AppError(
        "ABORTED",
        "the command expired before it ran and was not applied; send it again with a new command_id",
      );
    } else {
      blob = await claimBlob(client, envelope);
      const command = fromWire(envelope.payload as WirePayload, blob);
      decision = await decideInto(b, client, command, row, { now: now(), newId }, envelope.expectedVersion);
    }
    let outcome: CommandOutcome;
    if (decision instanceof AppError) {
      outcome = failed(decision);
    } else {
      outcome = {
        ok: true,
        result: {
          commandId: envelope.commandId,
          aggregateId: decision.aggregate.id,
          version: decision.version,
          events: decision.events.map((e) => e.type),
          position: "",
          duplicate: false,
        },
      };
      if (decision.events.length > 0) {
        const first = decision.version - decision.events.length + 1;
        b.cte(
          "ev",
          `INSERT INTO events (aggregate_type, aggregate_id, aggregate_version, type, payload, metadata)
           SELECT ${b.param(envelope.aggregateType, "text")}, ${b.param(envelope.aggregateId, "uuid")}, v, t, p,
                  ${b.param(JSON.stringify({ commandId: envelope.commandId, commandType: envelope.commandType, actor: envelope.actor }), "jsonb")}
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
        b.cte("tok", "SELECT transaction_id, position FROM ev ORDER BY position DESC LIMIT 1");
      } else {
        b.cte(
          "tok",
          `SELECT transaction_id, position FROM events WHERE aggregate_id = ${b.param(envelope.aggregateId, "uuid")}
            ORDER BY aggregate_version DESC LIMIT 1`,
        );
      }
    }
    const hasToken = b.has("tok");
    b.cte(
      "stored",
      `INSERT INTO command_results (command_id, command_type, aggregate_type, aggregate_id, payload_hash, result,
                                    token_transaction_id, token_position)
       SELECT ${b.param(envelope.commandId, "text")}, ${b.param(envelope.commandType, "text")},
              ${b.param(envelope.aggregateType, "text")}, ${b.param(envelope.aggregateId, "uuid")},
              ${b.param(envelope.payloadHash, "text")}, ${b.param(JSON.stringify(storableOutcome(outcome)), "jsonb")},
              ${hasToken ? "(SELECT transaction_id FROM tok), (SELECT position FROM tok)" : "NULL, NULL"}`,
    );
    if (blob)
      b.cte("claimed", `DELETE FROM command_blobs WHERE command_id = ${b.param(envelope.commandId, "text")}`);
    const stateRows = b.has("state") ? "(SELECT count(*) FROM state)::int" : "1";
    const tokenCols = hasToken
      ? "(SELECT transaction_id::text FROM tok) AS tx, (SELECT position FROM tok) AS pos"
      : "NULL::text AS tx, NULL::bigint AS pos";
    const res = await client.query(b.build(`SELECT ${stateRows} AS state_rows, ${tokenCols}`));
    const written = res.rows[0] as { state_rows: number; tx: string | null; pos: string | null };
    if (written.state_rows !== 1) throw new VersionConflict(envelope.aggregateType, envelope.aggregateId);
    if (!outcome.ok) return outcome;
    const token =
      written.tx === null || written.pos === null
        ? encodeToken({ transactionId: 0n, position: 0n })
        : encodeToken({ transactionId: BigInt(written.tx), position: BigInt(written.pos) });
    return { ok: true, result: { ...outcome.result, position: token } };
  }

  async function runBatch(batch: readonly CommandEnvelope[]): Promise<BatchRun> {
    let client: TransactionClient;
    try {
      client = await options.connect();
    } catch (error) {
      return { kind: "unavailable", error };
    }
    let broken = false;
    // One command needs no transaction: its writes are ONE statement (atomic on its own), and the version
    // check and the command id's primary key catch anything that changed since its read. Several commands
    // share a transaction, hence one commit.
    const transaction = batch.length > 1;
    try {
      if (transaction) await client.query("BEGIN");
      const outcomes: CommandOutcome[] = [];
      for (const envelope of batch) {
        try {
          outcomes.push(await applyOne(client, envelope));
        } catch (error) {
          if (transaction) await client.query("ROLLBACK");
          if (isConnectionError(error)) {
            broken = true;
            return { kind: "unavailable", error };
          }
          return { kind: "failed", error };
        }
      }
      if (transaction) await client.query("COMMIT");
      return { kind: "committed", outcomes };
    } catch (error) {
      broken = true;
      await client.query("ROLLBACK").catch(() => {});
      return { kind: "unavailable", error };
    } finally {
      client.release(broken);
    }
  }

  /** One command in its own transaction, with retries on conflicts. */
  async function runAlone(envelope: CommandEnvelope): Promise<CommandOutcome> {
    for (let attempt = 1; ; attempt++) {
      const run = await runBatch([envelope]);
      if (run.kind === "committed") return run.outcomes[0] as CommandOutcome;
      if (run.kind === "unavailable") {
        options.log?.("command transaction failed", {
          commandId: envelope.commandId,
          error: String(run.error),
        });
        return failed(AppError.from(run.error));
      }
      const mapped = mapWriteError(run.error);
      if (mapped === "retry") {
        if (attempt >= maxAttempts) {
          return failed(new AppError("ABORTED", "the aggregate kept changing concurrently; retry"));
        }
        await Bun.sleep(Math.min(2 ** attempt, 50) * Math.random());
        continue;
      }
      if (mapped === undefined) {
        const error = AppError.from(run.error);
        if (error.code !== "UNAVAILABLE") {
          options.log?.("command failed", { commandId: envelope.commandId, error: String(run.error) });
        }
        return failed(error);
      }
      const outcome = failed(mapped.error);
      if (mapped.store) {
        try {
          const client = await options.connect();
          try {
            await storeOutcome(client, envelope, outcome);
          } finally {
            client.release();
          }
        } catch (error) {
          return failed(AppError.from(error));
        }
      }
      return outcome;
    }
  }

  return async (batch) => {
    if (batch.length > 1) {
      const run = await runBatch(batch);
      if (run.kind === "committed") return run.outcomes;
      if (run.kind === "unavailable") {
        options.log?.("command transaction failed", { error: String(run.error), commands: batch.length });
        const outcome = failed(AppError.from(run.error));
        return batch.map(() => outcome);
      }
    }
    // A single command, or a batch one of whose commands failed: each on its own.
    const outcomes: CommandOutcome[] = [];
    for (const envelope of batch) outcomes.push(await runAlone(envelope));
    return outcomes;
  };
}

async function claimBlob(client: SqlClient, envelope: CommandEnvelope): Promise<Uint8Array | undefined> {
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

/**
 * Maps an error thrown while applying one command: a domain answer (stored when it is a fact about the data,
 * so a retry gets it again), "retry" (concurrent change: try again on fresh state), or undefined (answer it
 * INTERNAL / UNAVAILABLE).
 */
function mapWriteError(error: unknown): { error: AppError; store: boolean } | "retry" | undefined {
  if (error instanceof VersionConflict) return "retry";
  if (error instanceof AppError) return { error, store: false };
  const e = error as { code?: string; constraint?: string };
  if (e.code !== undefined && RETRYABLE_PG_CODES.has(e.code)) return "retry";
  if (e.code === "23505") {
    if (e.constraint === "users_email_key") {
      return { error: new AppError("ALREADY_EXISTS", "email is already taken"), store: true };
    }
    // Someone created the same aggregate, or stored the same command id, concurrently: look again.
    return "retry";
  }
  if (e.code === "23503") {
    return { error: new AppError("NOT_FOUND", "a referenced aggregate does not exist"), store: true };
  }
  return undefined;
}
