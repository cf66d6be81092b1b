/**
 * The shape every aggregate's business logic takes: a pure decider (Emmett style).
 *
 * `decide` turns a command and the aggregate's current state into the events that happened, or into an
 * {@link AppError} when a domain rule forbids the command; it never throws for a rule and never reads the
 * clock or generates ids itself (both come in through {@link DecideContext}). `evolve` folds one event into
 * the state. The command handler owns everything impure: loading state, looking up facts about other
 * aggregates (the command's `refs`, see {@link WithRefs}), appending with an expected version.
 */
import { AppError } from "../errors";

/** What a decision may depend on besides the command and the state: time and fresh ids. */
export interface DecideContext {
  /** The current time, fixed for the whole decision. */
  readonly now: Date;
  /** Generates a fresh unique id (a UUID in production). */
  readonly newId: () => string;
}

/** A pure decider for one aggregate type. */
export interface Decider<C, E, S> {
  /** The state of an aggregate that does not exist yet (`version` 0). */
  initialState(): S;
  /**
   * The events the command causes on this state; an empty list is a successful no-op.
   * @returns the events, or the AppError (NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION) that rejects it.
   */
  decide(command: C, state: S, ctx: DecideContext): readonly E[] | AppError;
  /** The state after one event; must be total over the events `decide` produces. */
  evolve(state: S, event: E): S;
}

/**
 * A domain event: plain JSON (timestamps are ISO-8601 strings), stored as jsonb in the outbox and
 * published on NATS under its `type`.
 */
export interface Event<Type extends string, Data extends object> {
  readonly type: Type;
  readonly data: Data;
}

/** Every state carries the number of events applied to it; 0 means the aggregate does not exist. */
export interface Versioned {
  readonly version: number;
}

/**
 * A command together with the facts about other aggregates its rules need.
 *
 * Commands are the caller's intent (what validation produces and the transport carries); before deciding,
 * the command handler looks up the facts named by the `refs` map `M` (keyed by command type) and adds them
 * as `refs`. Command types absent from `M` need no refs and stay unchanged.
 */
export type WithRefs<C extends { readonly type: string }, M> = C extends { readonly type: infer T }
  ? T extends keyof M
    ? C & { readonly refs: M[T] }
    : C
  : never;

/** True when a decision was rejected. */
export function isRejection<E>(result: readonly E[] | AppError): result is AppError {
  return result instanceof AppError;
}

/** Folds events into a state with a decider's `evolve`. */
export function evolveAll<C, E, S>(decider: Decider<C, E, S>, state: S, events: readonly E[]): S {
  return events.reduce((s, e) => decider.evolve(s, e), state);
}
