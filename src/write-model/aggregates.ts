/**
 * Commands against the write model, in two round trips per batch: ONE read per aggregate type (the stored
 * results of the command ids and the aggregates' states, see batch-read.ts), then the decisions, then ONE
 * write statement, completed with the outbox events and the stored results (batch-write.ts). Refs (facts about
 * other aggregates) are read in between when a command needs them. Which table holds an aggregate, which refs
 * its commands need and its pure rules are its definition's and tables' (src/domain/<aggregate>/definition.ts
 * and persistence.ts), read here from the write model's list of stores (stores.ts).
 */
import type { SqlBuilder } from "../db/sql-builder";
import type { SqlClient } from "../db/sql-client";
import {
  type AggregateRef,
  type AggregateType,
  aggregateOf,
  type DecideContext,
  type DomainCommand,
  type DomainEvent,
  evolveAll,
  isRejection,
  type Versioned,
} from "../domain";
import { AppError } from "../errors";
import type { AggregateRead } from "./batch-read";
import { aggregateDefinition } from "./stores";

/** What a command did to its aggregate. */
export interface Decision {
  readonly aggregate: AggregateRef;
  /** Version after the command (unchanged when it emitted nothing). */
  readonly version: number;
  readonly events: readonly DomainEvent[];
  /** The aggregate's state after the command (what a fresh read would give once it is written). */
  readonly state: Versioned;
}

/**
 * Adds a check that the aggregate is still at `version` (one row, or the statement fails): for a command
 * decided on a state the caller kept rather than read, whose write changes no state row of its own (a
 * rejection, a no-op), so that what it stores was decided on the current state.
 */
export function expectVersion(b: SqlBuilder, type: AggregateType, id: string, version: number): void {
  b.cte(
    "seen",
    `SELECT 1 FROM ${aggregateDefinition(type).store.table} WHERE id = ${b.param(id, "uuid")} AND version = ${b.param(version, "bigint")}`,
  );
  b.expectOne("seen");
}

/**
 * Decides a command on the state `read` found and adds the CTEs that write the new state to `b`.
 * @returns the decision, or the AppError a rule (or `expectedVersion`) rejected it with.
 */
export async function decideInto(
  b: SqlBuilder,
  client: SqlClient,
  command: DomainCommand,
  read: AggregateRead,
  ctx: DecideContext,
  /** The int64 `expected_version` as decimal text (exact beyond 2^53), or undefined for no check. */
  expectedVersion: string | undefined,
  /** The aggregate's state when the caller knows it (a worker's kept states); else read from `read`. */
  known?: Versioned,
): Promise<Decision | AppError> {
  const aggregate = aggregateOf(command);
  const { decider, store, resolveRefs } = aggregateDefinition(aggregate.type);
  const state: Versioned = known ?? (read.exists ? store.fromRow(read.row) : decider.initialState());
  const events = decider.decide(await resolveRefs(command, state, client), state, ctx);
  if (expectedVersion !== undefined && String(state.version) !== expectedVersion) {
    // An aggregate that does not exist (or was deleted) is NOT_FOUND whatever version was expected; any other
    // answer yields to the version check.
    if (isRejection(events) && events.code === "NOT_FOUND") return events;
    return new AppError(
      "ABORTED",
      `${aggregate.type} ${aggregate.id} is at version ${state.version}, not the expected ${expectedVersion}`,
    );
  }
  if (isRejection(events)) return events;
  if (events.length === 0) return { aggregate, version: state.version, events, state };
  const after = evolveAll(decider, state, events);
  store.save(b, state, after, events, command);
  return { aggregate, version: after.version, events, state: after };
}
