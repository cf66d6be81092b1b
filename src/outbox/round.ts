/**
 * One relay round on the leader's connection: read the checkpoint (unless this relay moved it itself last
 * round), read the next batch (one statement, which also says whether events wait behind a running
 * transaction, even when it finds none), publish it, then move the checkpoint past what was acked (the
 * checkpoint alone says what is published). Two statements for a round that publishes, one for a round that
 * finds nothing.
 *
 * A relay that goes on at once (the batch was full, or `goOn` says a wake-up came while it published) leaves
 * that move to its next round, which makes it in the same statement as its batch read
 * (`ADVANCE_AND_SELECT_SQL` in sql.ts): one statement a round while it is busy, and the events that woke it wait
 * for one statement less. Published events are never left without their move for longer than that: the loop
 * runs the next round at once, or makes the move alone when it stops.
 */
import type pg from "pg";
import type { StreamPoint } from "../contracts";
import { AppError } from "../errors/app-error";
import { type BatchRow, batchRows, checkpointOf, type OutboxRow, toPublishedEvent } from "./outbox-row";
import type { BatchResult } from "./publish-batch";
import { type PublishedEvent, pointOfPublishedEvent } from "./published-event";
import { advanceAndSelectQuery, advanceCheckpointQuery, READ_CHECKPOINT_SQL, selectBatchQuery } from "./sql";

/**
 * Publishes a batch in order; resolves (never rejects) with the acked prefix, like `publishBatch`.
 * JetStream on the real tier, the in-process event bus in the embedded mode.
 */
export type EventPublisher = (events: readonly PublishedEvent[]) => Promise<BatchResult>;

/** What a round needs. */
export interface RoundContext {
  /** The connection of this round: the leader's session (it holds the lock), or the embedded pool's. */
  readonly client: pg.ClientBase;
  readonly publish: EventPublisher;
  /** Where `publish` puts events, for the error message, e.g. `JetStream`. */
  readonly target: string;
  /** Relay name. */
  readonly name: string;
  readonly batchSize: number;
  /**
   * The checkpoint as this relay itself last moved it on this same connection, if it did: the round then
   * skips reading it. Safe, because moving it again is a compare-and-set on this point (a relay that lost
   * track gets ABORTED and reads it anew next round).
   */
  readonly checkpoint?: StreamPoint;
  /** The checkpoint move the previous round left to this one; the round starts at its `to`. */
  readonly carried?: CheckpointMove;
  /**
   * Asked once the whole batch was acked: true when the relay will run its next round at once, so the
   * checkpoint move is left to it (see the module comment). A full batch is carried without asking.
   */
  readonly goOn?: () => boolean;
}

/** A checkpoint move from `from` to `to`: what it passes is published. */
export interface CheckpointMove {
  readonly from: StreamPoint;
  readonly to: StreamPoint;
}

/** What a round did. */
export interface RoundResult {
  /** The checkpoint after the round (or after the move it left to the next, `carried`). */
  readonly checkpoint: StreamPoint;
  /** The checkpoint move left to the next round; the caller passes it on (or makes it with {@link moveCheckpoint}). */
  readonly carried?: CheckpointMove;
  /** The events published and checkpointed, in order. */
  readonly published: readonly PublishedEvent[];
  /** True when the batch was full, so more events may be waiting. */
  readonly full: boolean;
  /** True when committed events wait behind a running transaction (see sql.ts, `held_back`). */
  readonly heldBack: boolean;
  /** Why publishing stopped early (an AppError UNAVAILABLE with the NATS error as cause). */
  readonly error?: AppError;
}

/**
 * Runs one round.
 * @throws the Postgres error of any query; AppError ABORTED when the checkpoint moved under this relay.
 */
export async function runRound(ctx: RoundContext): Promise<RoundResult> {
  const { from, rows, heldBack: held } = await readBatch(ctx);
  const full = rows.length === ctx.batchSize;
  const heldBack = !full && held;
  if (rows.length === 0) return { checkpoint: from, published: [], full, heldBack };

  const events = rows.map(toPublishedEvent);
  const result = await ctx.publish(events);
  const error =
    result.error === undefined
      ? undefined
      : new AppError("UNAVAILABLE", `publishing events to ${ctx.target} failed`, { cause: result.error });
  const last = result.published.at(-1);
  if (last === undefined) return { checkpoint: from, published: [], full: false, heldBack, error };

  const move = { from, to: pointOfPublishedEvent(last) };
  if (error === undefined && (full || ctx.goOn?.() === true)) {
    return { checkpoint: move.to, carried: move, published: result.published, full, heldBack };
  }
  await moveCheckpoint(ctx.client, ctx.name, move);
  return { checkpoint: move.to, published: result.published, full, heldBack, error };
}

/**
 * Makes a checkpoint move alone (a round that does not go on, or a relay stopping with a move carried).
 * @throws the Postgres error; AppError ABORTED when the checkpoint is no longer at `move.from`.
 */
export async function moveCheckpoint(
  client: pg.ClientBase,
  name: string,
  move: CheckpointMove,
): Promise<void> {
  const moved = await client.query<{ advanced: number }>(advanceCheckpointQuery(name, move.from, move.to));
  if (moved.rows[0]?.advanced !== 1) throw checkpointMoved(name);
}

/** A batch: where it starts, its rows, and whether events wait behind a running transaction. */
interface Batch {
  readonly from: StreamPoint;
  readonly rows: readonly OutboxRow[];
  readonly heldBack: boolean;
}

/** The batch after the checkpoint, making the carried move first when there is one. One statement. */
async function readBatch(ctx: RoundContext): Promise<Batch> {
  const carried = ctx.carried;
  if (carried === undefined) {
    const from = ctx.checkpoint ?? (await readCheckpoint(ctx));
    const result = await ctx.client.query<BatchRow>(selectBatchQuery(from, ctx.batchSize));
    return { from, rows: batchRows(result.rows), heldBack: result.rows[0]?.held_back === true };
  }
  const { from, to } = carried;
  const result = await ctx.client.query<BatchRow & { readonly advanced: number }>(
    advanceAndSelectQuery(ctx.name, from, to, ctx.batchSize),
  );
  if (result.rows[0]?.advanced !== 1) throw checkpointMoved(ctx.name);
  return { from: to, rows: batchRows(result.rows), heldBack: result.rows[0]?.held_back === true };
}

function checkpointMoved(name: string): AppError {
  return new AppError("ABORTED", `the checkpoint of outbox relay ${name} moved while it published`);
}

async function readCheckpoint(ctx: RoundContext): Promise<StreamPoint> {
  const state = await ctx.client.query<{ transaction_id: string; position: string }>({
    name: "outbox_read_checkpoint",
    text: READ_CHECKPOINT_SQL,
    values: [ctx.name],
  });
  const stateRow = state.rows[0];
  if (stateRow === undefined) {
    throw new AppError("FAILED_PRECONDITION", `outbox relay ${ctx.name} has no checkpoint row`);
  }
  return checkpointOf(stateRow);
}
