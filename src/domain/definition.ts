/**
 * One definition per aggregate: everything the rest of the system needs to know about an aggregate type, in
 * its own folder (`src/domain/<aggregate>/definition.ts`), listed once in `registry.ts`. The executor, the
 * write model, the gateway's authorization and owner lookup read these; none of them switches on a command's
 * type or an aggregate's name. See src/README.md, "Adding an aggregate".
 */
import type { AggregateStore } from "../db/aggregate-store";
import type { SqlClient } from "../db/sql-client";
import type { AggregateType } from "./aggregate";
import type { DomainCommand } from "./commands";
import type { Decider, Versioned } from "./decider";
import type { DomainEvent } from "./events";

/**
 * Who may send an aggregate's commands. `service` and `admin` may send any; a `user` only the commands not
 * listed in `privileged`, on aggregates it owns, and the `creates` commands only with its own `userId`.
 */
export interface AccessRules<C extends DomainCommand> {
  /** Commands for the `service` and `admin` roles only (results of training, processing). */
  readonly privileged: readonly C["type"][];
  /** Commands that create the aggregate: its owner is the command's `userId`. */
  readonly creates: readonly Extract<C, { readonly userId: string }>["type"][];
}

/** An aggregate type: its rules, its tables, the facts its commands need, its owner and who may act on it. */
export interface AggregateDefinition<
  T extends AggregateType,
  C extends DomainCommand,
  R,
  E extends DomainEvent,
  S extends Versioned,
> {
  readonly type: T;
  /** The pure rules. */
  readonly decider: Decider<R, E, S>;
  /** How its state is read from and written to its tables. */
  readonly store: AggregateStore<S, E, C>;
  /**
   * The command with the facts about other aggregates its decider needs (`refs`), read through `client`; the
   * command itself when it needs none.
   */
  resolveRefs(command: C, state: S, client: SqlClient): Promise<R>;
  /** The column of `store.table` that holds the owning user's id (the gateway's owner lookup). */
  readonly ownerColumn: string;
  readonly access: AccessRules<C>;
  /**
   * Whether a worker keeps the state of the aggregates it applied commands to (an actor's memory), so the next
   * command skips the read: for aggregates that take many commands in a row (a conversation's turns).
   */
  readonly keepState: boolean;
  /** Unique constraints of its tables that mean ALREADY_EXISTS, with the message (e.g. a taken email). */
  readonly alreadyExists?: Readonly<Record<string, string>>;
}

/** Any aggregate's definition, as the registry holds them. */
// biome-ignore lint/suspicious/noExplicitAny: definitions of different aggregates in one registry
export type AnyAggregateDefinition = AggregateDefinition<AggregateType, any, any, any, any>;

/** Types a definition (checks it against its aggregate's command, resolved command, event and state types). */
export function defineAggregate<
  T extends AggregateType,
  C extends DomainCommand,
  R,
  E extends DomainEvent,
  S extends Versioned,
>(definition: AggregateDefinition<T, C, R, E, S>): AggregateDefinition<T, C, R, E, S> {
  return definition;
}
