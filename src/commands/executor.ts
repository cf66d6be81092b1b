/**
 * Applies a batch of commands (one per aggregate) in ONE Postgres transaction: group commit.
 *
 * Each command runs inside its own savepoint, so its result is atomic on its own: it either wrote its state,
 * its outbox events and its `command_results` row, or nothing. Per command:
 *   1. a stored result for the command id answers it (`duplicate: true`), or INVALID_ARGUMENT when the payload
 *      differs;
 *   2. load, decide, save with a version check, append the events to the outbox, store the result.
 * A domain rejection is stored too (a retry gets the same answer). A version conflict, a deadlock or a unique
 * violation on the command id rolls the savepoint back and the command is tried again in a later transaction,
 * with bounded backoff. Any other error of one command answers that command INTERNAL (not stored) and the batch
 * goes on; only a lost connection or a failed COMMIT fails the whole batch, answered UNAVAILABLE without being
 * stored, so the transport delivers those commands again.
 */
import type { DecideContext, DomainEvent } from "../domain";
import { AppError } from "../errors";
import { type Decision, decideAndSave, type SqlClient, VersionConflict } from "../write-model";
import { findStoredOutcome, storeOutcome } from "./command-results";
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

type Attempt = { readonly kind: "done"; readonly outcome: CommandOutcome } | { readonly kind: "retry" };

const RETRYABLE_PG_CODES = new Set(["40001", "40P01"]);

/** Creates the executor used by every command thread (and the embedded mode). */
export function createCommandExecutor(options: CommandExecutorOptions): CommandExecutor {
  const now = options.now ?? (() => new Date());
  const newId = options.newId ?? (() => crypto.randomUUID());
  const maxAttempts = options.maxAttempts ?? 8;

  async function applyOne(client: SqlClient, envelope: CommandEnvelope): Promise<Attempt> {
    const stored = await findStoredOutcome(client, envelope.commandId);
    if (stored) {
      if (stored.payloadHash !== envelope.payloadHash) return { kind: "done", outcome: reusedIdOutcome() };
      return { kind: "done", outcome: markDuplicate(stored.outcome) };
    }
    if (envelope.deadline !== undefined && envelope.deadline < Date.now()) {
      // The caller stopped waiting before we started: do not apply (and do not store) it.
      return {
        kind: "done",
        outcome: failed(new AppError("DEADLINE_EXCEEDED", "deadline passed before the command ran")),
      };
    }
    const blob = await claimBlob(client, envelope);
    const command = fromWire(envelope.payload as WirePayload, blob);
    const ctx: DecideContext = { now: now(), newId };
    const decision = await decideAndSave(client, command, ctx, envelope.expectedVersion);
    const outcome: CommandOutcome =
      decision instanceof AppError
        ? { ok: false, error: decision.serialize() }
        : { ok: true, result: await appendEvents(client, envelope, decision) };
    await storeOutcome(client, envelope, outcome);
    if (blob) await client.query("DELETE FROM command_blobs WHERE command_id = $1", [envelope.commandId]);
    return { kind: "done", outcome };
  }

  async function runBatch(batch: readonly CommandEnvelope[]): Promise<(Attempt | undefined)[]> {
    const client = await options.connect();
    const attempts: (Attempt | undefined)[] = [];
    let broken: Error | undefined;
    try {
      await client.query("BEGIN");
      for (const envelope of batch) {
        await client.query("SAVEPOINT cmd");
        try {
          attempts.push(await applyOne(client, envelope));
          await client.query("RELEASE SAVEPOINT cmd");
        } catch (error) {
          await client.query("ROLLBACK TO SAVEPOINT cmd");
          const mapped = mapWriteError(error);
          if (mapped === undefined) {
            if (AppError.from(error).code === "UNAVAILABLE") throw error;
            // A bug or a constraint the domain should have caught: answer this command alone, keep the batch.
            options.log?.("command failed", { commandId: envelope.commandId, error: String(error) });
            attempts.push({ kind: "done", outcome: failed(AppError.from(error)) });
            continue;
          }
          if (mapped === "retry") attempts.push({ kind: "retry" });
          else {
            const outcome = failed(mapped.error);
            if (mapped.store) await storeOutcome(client, envelope, outcome);
            attempts.push({ kind: "done", outcome });
          }
        }
      }
      await client.query("COMMIT");
      return attempts;
    } catch (error) {
      broken = error instanceof Error ? error : new Error(String(error));
      await client.query("ROLLBACK").catch(() => {});
      options.log?.("command transaction failed", { error: String(error), commands: batch.length });
      const outcome = failed(AppError.from(error));
      return batch.map(() => ({ kind: "done", outcome }) as const);
    } finally {
      client.release(broken !== undefined && isConnectionBroken(broken));
    }
  }

  return async (batch) => {
    const outcomes: (CommandOutcome | undefined)[] = new Array(batch.length);
    let todo = batch.map((envelope, index) => ({ envelope, index }));
    for (let attempt = 1; todo.length > 0; attempt++) {
      const results = await runBatch(todo.map((t) => t.envelope));
      const again: typeof todo = [];
      todo.forEach((t, i) => {
        const r = results[i];
        if (r?.kind === "done") outcomes[t.index] = r.outcome;
        else if (attempt >= maxAttempts) {
          outcomes[t.index] = failed(
            new AppError("ABORTED", "the aggregate kept changing concurrently; retry"),
          );
        } else again.push(t);
      });
      todo = again;
      if (todo.length > 0) await Bun.sleep(Math.min(2 ** attempt, 50) * Math.random());
    }
    return outcomes as CommandOutcome[];
  };
}

async function claimBlob(client: SqlClient, envelope: CommandEnvelope): Promise<Uint8Array | undefined> {
  const payload = envelope.payload as WirePayload;
  if (payload.contentRef !== "command_blobs") return undefined;
  const res = await client.query<{ content: Buffer }>(
    "SELECT content FROM command_blobs WHERE command_id = $1",
    [envelope.commandId],
  );
  const row = res.rows[0];
  if (!row)
    throw new AppError(
      "FAILED_PRECONDITION",
      "the document content of this command is missing; upload again",
    );
  return new Uint8Array(row.content);
}

async function appendEvents(client: SqlClient, envelope: CommandEnvelope, decision: Decision) {
  const events: readonly DomainEvent[] = decision.events;
  let token: string;
  if (events.length === 0) {
    token = await currentToken(client, decision.aggregate.id);
  } else {
    const first = decision.version - events.length + 1;
    const res = await client.query<{ position: string; transaction_id: string }>(
      `INSERT INTO events (aggregate_type, aggregate_id, aggregate_version, type, payload, metadata)
       SELECT $1, $2, v, t, p, $6::jsonb
         FROM unnest($3::bigint[], $4::text[], $5::jsonb[]) AS e(v, t, p)
       RETURNING position, transaction_id`,
      [
        decision.aggregate.type,
        decision.aggregate.id,
        events.map((_, i) => first + i),
        events.map((e) => e.type),
        events.map((e) => JSON.stringify(e.data)),
        JSON.stringify({
          commandId: envelope.commandId,
          commandType: envelope.commandType,
          actor: envelope.actor,
        }),
      ],
    );
    const last = res.rows.reduce((a, b) => (BigInt(a.position) > BigInt(b.position) ? a : b));
    token = encodeToken({ transactionId: BigInt(last.transaction_id), position: BigInt(last.position) });
  }
  return {
    commandId: envelope.commandId,
    aggregateId: decision.aggregate.id,
    version: decision.version,
    events: events.map((e) => e.type),
    position: token,
    duplicate: false,
  };
}

/** The token of an aggregate's latest event (for commands that emitted nothing). */
async function currentToken(client: SqlClient, aggregateId: string): Promise<string> {
  const res = await client.query<{ position: string; transaction_id: string }>(
    `SELECT position, transaction_id FROM events WHERE aggregate_id = $1 ORDER BY aggregate_version DESC LIMIT 1`,
    [aggregateId],
  );
  const row = res.rows[0];
  return encodeToken(
    row
      ? { transactionId: BigInt(row.transaction_id), position: BigInt(row.position) }
      : { transactionId: 0n, position: 0n },
  );
}

/**
 * Maps an error thrown while applying one command: a domain answer (stored when it is a fact about the data,
 * so a retry gets it again), "retry" (concurrent change: try again on fresh state), or undefined (fail the
 * whole transaction).
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

function isConnectionBroken(error: Error): boolean {
  return !(error instanceof AppError) && AppError.from(error).code === "UNAVAILABLE";
}
