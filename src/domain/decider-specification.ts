/**
 * Given/when/then for deciders (Emmett's `DeciderSpecification`), for unit tests only: it uses
 * `bun:test`'s `expect`, so it is not exported from the domain's index.
 *
 * ```ts
 * const spec = DeciderSpecification.for(userDecider);
 * spec.given([created]).when(deleteUser).then([deleted]);
 * spec.given([]).when(deleteUser).thenFails("NOT_FOUND");
 * ```
 */
import { expect } from "bun:test";
import type { AppError, CodeName } from "../errors";
import { type DecideContext, type Decider, evolveAll, isRejection } from "./decider";

/** The instant every specification decides at, unless told otherwise. */
export const fixedNow = new Date("2030-01-02T03:04:05.678Z");

/** A deterministic context: the clock stands at `now`; ids are `id-1`, `id-2`, ... per context. */
export function fixedContext(now: Date = fixedNow): DecideContext {
  let next = 0;
  return {
    now,
    newId: () => {
      next += 1;
      return `id-${next}`;
    },
  };
}

/** The outcome checks of one `when`. */
export interface ThenClause<E, S> {
  /** The command succeeds with exactly these events, which survive JSON and which `evolve` accepts. */
  then(expected: readonly E[]): void;
  /** The command succeeds with no events (a no-op). */
  thenNothingHappens(): void;
  /** The command is rejected with this code (and, if given, a message containing `messagePart`). */
  thenFails(code: CodeName, messagePart?: string): void;
  /** The command succeeds; `check` receives the state after its events. */
  thenState(check: (state: S) => void): void;
}

/** A specification with its history of events set. */
export interface WhenClause<C, E, S> {
  when(command: C): ThenClause<E, S>;
}

/** The entry point: a specification for one decider. */
export interface GivenClause<C, E, S> {
  given(events: readonly E[]): WhenClause<C, E, S>;
}

function succeed<E>(result: readonly E[] | AppError): readonly E[] {
  if (isRejection(result)) {
    throw new Error(
      `expected the command to succeed, but it was rejected: ${result.code}: ${result.message}`,
    );
  }
  return result;
}

/** Builds given/when/then specifications for deciders. */
export const DeciderSpecification = {
  /** A specification for `decider`, deciding in `ctx` (a fixed clock and counting ids by default). */
  for<C, E, S>(
    decider: Decider<C, E, S>,
    ctx: () => DecideContext = () => fixedContext(),
  ): GivenClause<C, E, S> {
    return {
      given: (history) => ({
        when: (command) => {
          const state = evolveAll(decider, decider.initialState(), history);
          const decide = () => decider.decide(command, state, ctx());
          const events = () => succeed(decide());
          return {
            // biome-ignore lint/suspicious/noThenProperty: given/when/then as in Emmett; never awaited.
            then(expected) {
              const actual = events();
              expect(actual).toEqual(expected);
              // Events are stored as jsonb and published on NATS: they must survive JSON unchanged.
              expect(JSON.parse(JSON.stringify(actual))).toEqual(actual);
              evolveAll(decider, state, actual);
            },
            thenNothingHappens() {
              expect(events()).toEqual([]);
            },
            thenFails(code, messagePart) {
              const result = decide();
              if (!isRejection(result)) {
                throw new Error(`expected ${code}, but the command succeeded with ${JSON.stringify(result)}`);
              }
              expect(result.code).toBe(code);
              if (messagePart !== undefined) expect(result.message).toContain(messagePart);
            },
            thenState(check) {
              check(evolveAll(decider, state, events()));
            },
          };
        },
      }),
    };
  },
};
