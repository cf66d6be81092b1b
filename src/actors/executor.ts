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
 * payload differs; otherwise it is decided; a domain rejection is stored too (a retry gets the same answer). A
 * command whose caller's deadline passed before it ran is skipped: not applied and nothing stored, so a retry
 * with the same command id is applied then (see {@link skippedOutcome}). The write's
 * text depends only on how many commands of each shape the batch holds, so it repeats and is prepared
 * (db/combined-statement.ts).
 * When a batch's write fails, every command of the batch is applied again on its own, where a version
 * conflict or deadlock is retried with bounded backoff, a taken email is stored as ALREADY_EXISTS, and
 * anything else answers that command alone (a failure that is no domain answer is dead-lettered and answered
 * INVALID_ARGUMENT or FAILED_PRECONDITION, see dead-letter-command.ts). Only a lost connection answers
 * UNAVAILABLE, without storing anything, so the transport delivers those commands again.
 */

import type { CommandEnvelope, CommandOutcome, WirePayload } from "../contracts";
import { failed, fromWire, markDuplicate, reusedIdOutcome, skippedOutcome } from "../contracts";
import type { Versioned } from "../domain";
import { aggregateDefinition } from "../domain/registry";
import { AppError, isConnectionError } from "../errors";
import type { Logger } from "../logging";
import { LruMap } from "../lru/lru-map";
import { traced } from "../tracing";
import {
  appendEvents,
  type CommandRead,
  claimBlob,
  type Decision,
  decideInto,
  expectVersion,
  finishPart,
  KNOWN_AGGREGATE,
  mapWriteError,
  partBuilder,
  readCommands,
  type SqlClient,
  type StatementPart,
  storedForThisDelivery,
  storeOutcome,
  storeResult,
  VersionConflict,
  writeParts,
} from "../write-model";
import { deadLetterCommand } from "./dead-letter-command";

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
  readonly log?: Logger;
  /**
   * The states this executor keeps after applying commands to aggregates whose definition says `keepState`
   * (conversations; an actor's memory): a command on a kept aggregate skips the read. Its write still checks the version, and its stored result
   * the command id's key, so a state changed elsewhere (another worker after a partition handover) or a
   * command applied before fails the statement, and the batch is applied again command by command with
   * reads. Default: an LRU map of its own, bounded by `stateCacheSize`.
   */
  readonly stateCache?: Map<string, Versioned>;
  /** Most states the default map keeps (default 10,000; 0 keeps none). */
  readonly stateCacheSize?: number;
}

/** Applies batches of commands. */
export type CommandExecutor = (batch: readonly CommandEnvelope[]) => Promise<readonly CommandOutcome[]>;

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

/** Creates the executor used by every command thread (and the embedded mode). */
export function createCommandExecutor(options: CommandExecutorOptions): CommandExecutor {
  const now = options.now ?? (() => new Date());
  const newId = options.newId ?? (() => crypto.randomUUID());
  const maxAttempts = options.maxAttempts ?? 8;
  const known = options.stateCache ?? new LruMap<string, Versioned>(options.stateCacheSize ?? 10_000);

  /**
   * Decides one command on what was read for it. An answer needs no write (a duplicate, a reused id);
   * otherwise its writes are its part of the batch's statement (batch-write.ts in the write model).
   */
  async function plan(
    client: SqlClient,
    envelope: CommandEnvelope,
    read: CommandRead,
    knownState: Versioned | undefined,
  ): Promise<Plan> {
    if (read.stored !== undefined) {
      if (read.stored.payloadHash !== envelope.payloadHash)
        return { kind: "answered", outcome: reusedIdOutcome() };
      // Written for this very message (applied, then its answer lost in a crash): the client's only answer.
      if (storedForThisDelivery(read.stored, envelope))
        return { kind: "answered", outcome: read.stored.outcome };
      return { kind: "answered", outcome: markDuplicate(read.stored.outcome) };
    }
    // The caller stopped waiting before it ran: skipped, nothing stored, so a retry with the same id is
    // applied then (or answered from the stored result, if another copy was applied meanwhile).
    if (envelope.deadline !== undefined && envelope.deadline < Date.now()) {
      return { kind: "answered", outcome: skippedOutcome() };
    }
    const b = partBuilder();
    const blob = await claimBlob(client, envelope);
    const command = fromWire(envelope.payload as WirePayload, blob);
    const decision: Decision | AppError = await decideInto(
      b,
      client,
      command,
      read,
      { now: now(), newId },
      envelope.expectedVersion,
      knownState,
    );
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
      appendEvents(b, envelope, decision);
    }
    storeResult(b, envelope, outcome, blob !== undefined);
    // Decided on a kept state but writing no state row (a rejection, a no-op): stored only if that state is
    // still current, or a stale state's answer would be kept for good.
    if (knownState !== undefined && !b.has("state")) {
      expectVersion(b, envelope.aggregateType, envelope.aggregateId, knownState.version);
    }
    const part = finishPart(b);
    return decision instanceof AppError
      ? { kind: "write", outcome, part }
      : { kind: "write", outcome, part, state: decision.state };
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
        useKnown && keepsState(e) ? known.get(e.aggregateId) : undefined,
      );
      const unknown = batch.flatMap((_, i) => (knownStates[i] === undefined ? [i] : []));
      const read = await traced("db.read", { "db.system": "postgresql", "batch.size": unknown.length }, () =>
        readCommands(
          client,
          unknown.map((i) => batch[i] as CommandEnvelope),
        ),
      );
      const reads: CommandRead[] = batch.map(() => KNOWN_AGGREGATE);
      unknown.forEach((i, k) => {
        reads[i] = read[k] as CommandRead;
      });
      const plans: Plan[] = [];
      for (let i = 0; i < batch.length; i++) {
        const envelope = batch[i] as CommandEnvelope;
        plans.push(await plan(client, envelope, reads[i] as CommandRead, knownStates[i]));
      }
      const writing = plans.flatMap((p, i) => (p.kind === "write" ? [i] : []));
      const written =
        writing.length === 0
          ? []
          : await traced("db.write", { "db.system": "postgresql", "batch.size": writing.length }, () =>
              writeParts(
                client,
                writing.map((i) => (plans[i] as Extract<Plan, { kind: "write" }>).part),
              ),
            );
      const writtenOf = new Map(writing.map((planIndex, k) => [planIndex, written[k]]));
      const outcomes = plans.map((p, i): CommandOutcome => {
        if (p.kind === "answered") return p.outcome;
        const w = writtenOf.get(i);
        const envelope = batch[i] as CommandEnvelope;
        // Not reached: a lost version check fails the statement in Postgres (write_expect_one).
        if (w === undefined || w.stateRows !== 1)
          throw new VersionConflict(envelope.aggregateType, envelope.aggregateId);
        if (!p.outcome.ok) return p.outcome;
        return { ok: true, result: { ...p.outcome.result, position: w.token } };
      });
      plans.forEach((p, i) => {
        const envelope = batch[i] as CommandEnvelope;
        if (p.kind === "write" && p.state !== undefined && keepsState(envelope)) {
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
        options.log?.warn(
          {
            commandId: envelope.commandId,
            error: String(run.error),
          },
          "command transaction failed",
        );
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
        if (error.code === "UNAVAILABLE") return failed(error);
        // Fails the same way at every attempt: set aside, answered clearly, acked (dead-letter-command.ts).
        return failed(await deadLetterCommand(options.connect, envelope, run.error, options.log));
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
    // A lone command runs the same way when its aggregate's state is kept (it skips the read); a failure of
    // that attempt, like one of a batch, is retried on its own with reads.
    const first = batch[0] as CommandEnvelope;
    if (batch.length > 1 || (keepsState(first) && known.has(first.aggregateId))) {
      const run = await runBatch(batch, true);
      if (run.kind === "committed") return run.outcomes;
      if (run.kind === "unavailable") {
        options.log?.warn({ error: String(run.error), commands: batch.length }, "command transaction failed");
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

/** Whether the executor keeps the state of the envelope's aggregate after applying it (its definition's `keepState`). */
function keepsState(envelope: CommandEnvelope): boolean {
  return aggregateDefinition(envelope.aggregateType).keepState;
}
