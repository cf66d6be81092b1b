/**
 * One relay round on the leader's connection: read the checkpoint (unless this relay moved it itself last
 * round), read the next batch (which also says whether events wait behind a running transaction), publish it,
 * then move the checkpoint past what was acked and mark those rows, in one statement. Two statements in the
 * steady state.
 */
import type pg from "pg";
import type { StreamPoint } from "../contracts";
import { AppError } from "../errors/app-error";
import { checkpointOf, type OutboxRow, toPublishedEvent } from "./outbox-row";
import type { BatchResult } from "./publish-batch";
import { type PublishedEvent, pointOfPublishedEvent } from "./published-event";
import { advanceCheckpointQuery, HELD_BACK_SQL, READ_CHECKPOINT_SQL, selectBatchQuery } from "./sql";

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
}

/** What a round did. */
export interface RoundResult {
  /** The checkpoint after the round. */
  readonly checkpoint: StreamPoint;
  /** The events published and checkpointed, in order. */
  readonly published: readonly PublishedEvent[];
  /** True when the batch was full, so more events may be waiting. */
  readonly full: boolean;
  /** True when committed events wait behind a running transaction (see HELD_BACK_SQL). */
  readonly heldBack: boolean;
  /** Why publishing stopped early (an AppError UNAVAILABLE with the NATS error as cause). */
  readonly error?: AppError;
}

/**
 * Runs one round.
 * @throws the Postgres error of any query; AppError ABORTED when the checkpoint moved under this relay.
 */
export async function runRound(ctx: RoundContext): Promise<RoundResult> {
  const from = ctx.checkpoint ?? (await readCheckpoint(ctx));
  const batch = selectBatchQuery(from, ctx.batchSize);
  const rows = await ctx.client.query<OutboxRow>(batch);
  const full = rows.rows.length === ctx.batchSize;
  const first = rows.rows[0];
  const heldBack = !full && (first === undefined ? await isHeldBack(ctx.client) : first.held_back === true);
  if (rows.rows.length === 0) return { checkpoint: from, published: [], full, heldBack };

  const events = rows.rows.map(toPublishedEvent);
  const result = await ctx.publish(events);
  const error =
    result.error === undefined
      ? undefined
      : new AppError("UNAVAILABLE", `publishing events to ${ctx.target} failed`, { cause: result.error });
  const last = result.published.at(-1);
  if (last === undefined) return { checkpoint: from, published: [], full: false, heldBack, error };

  const to = pointOfPublishedEvent(last);
  const advance = advanceCheckpointQuery(
    ctx.name,
    from,
    to,
    result.published.map((e) => e.eventId),
  );
  const moved = await ctx.client.query<{ advanced: number; marked: number }>(advance);
  if (moved.rows[0]?.advanced !== 1) {
    throw new AppError("ABORTED", `the checkpoint of outbox relay ${ctx.name} moved while it published`);
  }
  return { checkpoint: to, published: result.published, full, heldBack, error };
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

async function isHeldBack(client: pg.ClientBase): Promise<boolean> {
  const result = await client.query<{ held_back: boolean }>({
    name: "outbox_held_back",
    text: HELD_BACK_SQL,
  });
  return result.rows[0]?.held_back === true;
}
