/**
 * The tables of an aggregate, beside its pure definition: its store, how the facts its commands need are read
 * (`refs`), its owner column and the constraints that mean ALREADY_EXISTS. Each aggregate's is its
 * `persistence.ts`; the write model lists them (src/write-model/stores.ts), keyed by the registry's types.
 * Only the write side imports these (they load SQL); the pure domain does not.
 */
import type { AggregateStore } from "../db/aggregate-store";
import type { SqlClient } from "../db/sql-client";
import type { Versioned } from "./decider";
import type { AggregateDefinition } from "./definition";

/** How an aggregate with commands `C`, resolved commands `R`, events `E` and state `S` is stored. */
export interface AggregatePersistence<T extends string, C, R, E, S extends Versioned> {
  /** The aggregate type (the pure definition's). */
  readonly type: T;
  /** How its state is read from and written to its tables. */
  readonly store: AggregateStore<S, E, C>;
  /**
   * The command with the facts about other aggregates its decider needs (`refs`), read through `client`; the
   * command itself when it needs none.
   */
  resolveRefs(command: C, state: S, client: SqlClient): Promise<R>;
  /** The column of `store.table` that holds the owning user's id (the gateway's owner lookup). */
  readonly ownerColumn: string;
  /** Unique constraints of its tables that mean ALREADY_EXISTS, with the message (e.g. a taken email). */
  readonly alreadyExists?: Readonly<Record<string, string>>;
}

/** Any aggregate's tables. */
// biome-ignore lint/suspicious/noExplicitAny: the tables of different aggregates in one list
export type AnyAggregatePersistence = AggregatePersistence<string, any, any, any, any>;

/** The persistence that fits a pure definition. */
export type PersistenceOf<D> =
  D extends AggregateDefinition<infer T, infer C, infer R, infer E, infer S>
    ? AggregatePersistence<T, C, R, E, S>
    : never;

/** Types an aggregate's tables against its pure definition (its command, resolved command, event and state). */
export function definePersistence<
  T extends string,
  C extends { readonly type: string },
  R,
  E extends { readonly type: string },
  S extends Versioned,
>(
  definition: AggregateDefinition<T, C, R, E, S>,
  persistence: NoInfer<Omit<AggregatePersistence<T, C, R, E, S>, "type">>,
): AggregatePersistence<T, C, R, E, S> {
  return { type: definition.type, ...persistence };
}
