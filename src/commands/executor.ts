/**
 * Applies a batch of commands (one per aggregate) with group commit, in two round trips for the whole batch:
 *
 *   1. ONE read per aggregate type in the batch: each command's stored result, if any, and its aggregate's
 *      state (refs to other aggregates, and a document's content, are read in between for the few commands
 *      that need them);
 *   2. ONE write statement carrying everything every command changes (the state with an optimistic version
 *      check, child rows, the outbox events, the stored result) as data-modifying CTEs, one prefixed group of
 *      CTEs per command. A single statement is atomic and commits by itself, so no BEGIN/COMMIT is sent: the
 *      batch shares one commit, and a version check that matched no row, or any constraint, fails all of it.
 *
 * Per command: a stored result for the command id answers it (`duplicate: true`), or INVALID_ARGUMENT when the
 * payload differs; otherwise it is decided; a domain rejection is stored too (a retry gets the same answer), and
 * so is ABORTED for a command whose caller's deadline passed before it ran (it is not applied). The write's
 * text depends only on how many commands of each shape the batch holds, so it repeats and is prepared
 * (write-model/combined-statement.ts).
 * When a batch's write fails, every command of the batch is applied again on its own, where a version
 * conflict or deadlock is retried with bounded backoff, a taken email is stored as ALREADY_EXISTS, and
 * anything else answers that command alone. Only a lost connection answers UNAVAILABLE, without storing
 * anything, so the transport delivers those commands again.
 */
import type { AggregateType, Versioned } from "../domain";
import { AppError, isConnectionError } from "../errors";
import { LruMap } from "../lru/lru-map";
import {
  combineParts,
  type Decision,
  decideInto,
  expectVersion,
  PART_SCOPE,
  readStatement,
  SqlBuilder,
  type SqlClient,
  type StatementPart,
  VersionConflict,
} from "../write-model";
import {
  type StoredOutcomeJson,
  storableOutcome,
  storedForThisDelivery,
  storedOutcomeOf,
  storeOutcome,
} from "./command-results";
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
  /**
   * The conversations' states this executor keeps after applying their commands (an actor's memory): a
   * command on a kept conversation skips the read. Its write still checks the version, and its stored result
   * the command id's key, so a state changed elsewhere (another worker after a partition handover) or a
   * command applied before fails the statement, and the batch is applied again command by command with
   * reads. Default: an LRU map of its own, bounded by `stateCacheSize`.
   */
  readonly stateCache?: Map<string, Versioned>;
  /** Most conversations the default map keeps (default 10,000; 0 keeps none). */
  readonly stateCacheSize?: number;
}

/** Applies batches of commands. */
export type CommandExecutor = (batch: readonly CommandEnvelope[]) => Promise<readonly CommandOutcome[]>;

/** The read row of a command whose aggregate's state is known: no stored result seen, the aggregate exists. */
const KNOWN_ROW: Record<string, unknown> = Object.freeze({ a_exists: true });

/** One command's part of a batch: answered from its read, or written by the batch's statement. */
type Plan =
  | { readonly kind: "answered"; readonly outcome: CommandOutcome }
  | {
      readonly kind: "write";
      readonly outcome: CommandOutcome;
      readonly part: StatementPart;
      /** The aggregate's state once written (absent when the command was refused). */
      readonly state?: Versioned;
    };

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
  const known = options.stateCache ?? new LruMap<string, Versioned>(options.stateCacheSize ?? 10_000);

  /**
   * Decides one command on the row read for it. An answer needs no write (a duplicate, a reused id);
   * otherwise its writes are its part of the batch's statement, which returns for it how many state rows it
   * wrote and its token's point.
   */
  async function plan(
    client: SqlClient,
    envelope: CommandEnvelope,
    row: Record<string, unknown>,
    knownState: Versioned | undefined,
  ): Promise<Plan> {
    const b = new SqlBuilder().scoped(PART_SCOPE);
    if (row.r_hash !== null && row.r_hash !== undefined) {
      if (row.r_hash !== envelope.payloadHash) return { kind: "answered", outcome: reusedIdOutcome() };
      const json = row.r_result as StoredOutcomeJson;
      const stored = storedOutcomeOf(
        row.r_hash as string,
        json,
        row.r_tx as string | null,
        row.r_pos as string | null,
      );
      // Written for this very message (applied, then its answer lost in a crash): the client's only answer.
      if (storedForThisDelivery(json, envelope)) return { kind: "answered", outcome: stored.outcome };
      return { kind: "answered", outcome: markDuplicate(stored.outcome) };
    }
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
      decision = await decideInto(
        b,
        client,
        command,
        row,
        { now: now(), newId },
        envelope.expectedVersion,
        knownState,
      );
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
        b.cte("tok", `SELECT transaction_id, position FROM ${b.ref("ev")} ORDER BY position DESC LIMIT 1`);
      } else {
        b.cte(
          "tok",
          `SELECT transaction_id, position FROM events WHERE aggregate_id = ${b.param(envelope.aggregateId, "uuid")}
            ORDER BY aggregate_version DESC LIMIT 1`,
        );
      }
    }
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
    if (blob)
      b.cte("claimed", `DELETE FROM command_blobs WHERE command_id = ${b.param(envelope.commandId, "text")}`);
    // Decided on a kept state but writing no state row (a rejection, a no-op): stored only if that state is
    // still current, or a stale state's answer would be kept for good.
    if (knownState !== undefined && !b.has("state")) {
      expectVersion(b, envelope.aggregateType, envelope.aggregateId, knownState.version);
    }
    // A version check that matched no row, or a row update another part of the statement made first, fails
    // the whole statement (sql/0013_write_version_check.sql).
    const stateRows = b.expectedRows();
    const tokenCols = tok
      ? `(SELECT transaction_id::text FROM ${tok}) AS tx, (SELECT position FROM ${tok}) AS pos`
      : "NULL::text AS tx, NULL::bigint AS pos";
    const part = b.part(`${stateRows} AS state_rows, ${tokenCols}`);
    return decision instanceof AppError
      ? { kind: "write", outcome, part }
      : { kind: "write", outcome, part, state: decision.state };
  }

  /** The read rows of a batch, one per command in batch order: one statement per aggregate type. */
  async function readRows(
    client: SqlClient,
    batch: readonly CommandEnvelope[],
  ): Promise<Record<string, unknown>[]> {
    const byType = new Map<AggregateType, number[]>();
    batch.forEach((envelope, i) => {
      const indexes = byType.get(envelope.aggregateType);
      if (indexes) indexes.push(i);
      else byType.set(envelope.aggregateType, [i]);
    });
    const rows: Record<string, unknown>[] = new Array(batch.length);
    for (const [type, indexes] of byType) {
      const res = await client.query(
        readStatement(
          type,
          indexes.map((i) => (batch[i] as CommandEnvelope).aggregateId),
          indexes.map((i) => (batch[i] as CommandEnvelope).commandId),
        ),
      );
      for (const row of res.rows as Record<string, unknown>[]) {
        rows[indexes[Number(row.k_ord) - 1] as number] = row;
      }
    }
    return rows;
  }

  /**
   * Applies a batch: its reads, its decisions, then ONE write statement for all of it, which commits by
   * itself (atomic: a failed version check or constraint anywhere writes nothing).
   */
  async function runBatch(batch: readonly CommandEnvelope[], useKnown: boolean): Promise<BatchRun> {
    let client: TransactionClient;
    try {
      client = await options.connect();
    } catch (error) {
      return { kind: "unavailable", error };
    }
    let broken = false;
    try {
      const knownStates = batch.map((e) =>
        useKnown && e.aggregateType === "conversation" ? known.get(e.aggregateId) : undefined,
      );
      const unknown = batch.flatMap((_, i) => (knownStates[i] === undefined ? [i] : []));
      const read = await readRows(
        client,
        unknown.map((i) => batch[i] as CommandEnvelope),
      );
      const rows: Record<string, unknown>[] = batch.map(() => KNOWN_ROW);
      unknown.forEach((i, k) => {
        rows[i] = read[k] as Record<string, unknown>;
      });
      const plans: Plan[] = [];
      for (let i = 0; i < batch.length; i++) {
        const envelope = batch[i] as CommandEnvelope;
        plans.push(await plan(client, envelope, rows[i] as Record<string, unknown>, knownStates[i]));
      }
      const writing = plans.flatMap((p, i) => (p.kind === "write" ? [i] : []));
      const written = new Map<number, { state_rows: number; tx: string | null; pos: string | null }>();
      if (writing.length > 0) {
        const parts = writing.map((i) => (plans[i] as Extract<Plan, { kind: "write" }>).part);
        const { statement, order } = combineParts(parts);
        const res = await client.query(statement);
        for (const row of res.rows as {
          i: number;
          state_rows: number;
          tx: string | null;
          pos: string | null;
        }[]) {
          written.set(writing[order[row.i] as number] as number, row);
        }
      }
      const outcomes = plans.map((p, i): CommandOutcome => {
        if (p.kind === "answered") return p.outcome;
        const w = written.get(i);
        const envelope = batch[i] as CommandEnvelope;
        // Not reached: a lost version check fails the statement in Postgres (write_expect_one).
        if (w === undefined || w.state_rows !== 1)
          throw new VersionConflict(envelope.aggregateType, envelope.aggregateId);
        if (!p.outcome.ok) return p.outcome;
        const token =
          w.tx === null || w.pos === null
            ? encodeToken({ transactionId: 0n, position: 0n })
            : encodeToken({ transactionId: BigInt(w.tx), position: BigInt(w.pos) });
        return { ok: true, result: { ...p.outcome.result, position: token } };
      });
      plans.forEach((p, i) => {
        const envelope = batch[i] as CommandEnvelope;
        if (p.kind === "write" && p.state !== undefined && envelope.aggregateType === "conversation") {
          known.set(envelope.aggregateId, p.state);
        }
      });
      return { kind: "committed", outcomes };
    } catch (error) {
      // Whatever this batch's aggregates are now, their next commands read them.
      for (const envelope of batch) known.delete(envelope.aggregateId);
      if (isConnectionError(error)) {
        broken = true;
        return { kind: "unavailable", error };
      }
      return { kind: "failed", error };
    } finally {
      client.release(broken);
    }
  }

  /** One command in its own transaction, with retries on conflicts. */
  async function runAlone(envelope: CommandEnvelope): Promise<CommandOutcome> {
    for (let attempt = 1; ; attempt++) {
      const run = await runBatch([envelope], false);
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
    // A lone command runs the same way when its conversation is known (it skips the read); a failure of
    // that attempt, like one of a batch, is retried on its own with reads.
    const first = batch[0] as CommandEnvelope;
    if (batch.length > 1 || (first.aggregateType === "conversation" && known.has(first.aggregateId))) {
      const run = await runBatch(batch, true);
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
