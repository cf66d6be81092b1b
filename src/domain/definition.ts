/**
 * One definition per aggregate: its pure part, in its own folder (`src/domain/<aggregate>/definition.ts`),
 * listed once in `registry.ts`. Everything the domain says about its aggregates is derived from the registry:
 * the aggregate types, the command and event unions and lists, the aggregate a command targets, and who may
 * send it. Nothing here loads SQL; an aggregate's tables are its `persistence.ts`, which the write model lists
 * (src/write-model/stores.ts). See src/README.md, "Adding an aggregate".
 */
import { AppError } from "../errors";
import type { Decider, Versioned } from "./decider";

/** Anything with a `type`: a command or an event. */
interface Typed {
  readonly type: string;
}

/**
 * Who may send an aggregate's commands. `service` and `admin` may send any; a `user` only the commands not
 * listed in `privileged`, on aggregates it owns, and the `creates` commands only with its own `userId`.
 */
export interface AccessRules<C extends Typed> {
  /** Commands for the `service` and `admin` roles only (results of training, processing). */
  readonly privileged: readonly C["type"][];
  /** Commands that create the aggregate: its owner is the command's `userId`. */
  readonly creates: readonly Extract<C, { readonly userId: string }>["type"][];
}

/**
 * The pure part of an aggregate type: its commands `C`, the commands with their refs `R` its decider takes,
 * its events `E` and state `S`.
 */
export interface AggregateDefinition<
  T extends string,
  C extends Typed,
  R,
  E extends Typed,
  S extends Versioned,
> {
  /** The aggregate type; also the prefix of its event types (`voice_model.trained`). */
  readonly type: T;
  /** The pure rules. */
  readonly decider: Decider<R, E, S>;
  /** Every type (RPC name) of its commands, in the order of API.md. */
  readonly commandTypes: readonly C["type"][];
  /** Every type of its events, in the order of API.md. */
  readonly eventTypes: readonly E["type"][];
  /** The id of the aggregate a command targets (with `type`, the routing key of its mailbox). */
  target(command: C): string;
  readonly access: AccessRules<C>;
  /**
   * Whether a worker keeps the state of the aggregates it applied commands to (an actor's memory), so the next
   * command skips the read: for aggregates that take many commands in a row (a conversation's turns).
   */
  readonly keepState: boolean;
}

/** Any aggregate's definition. */
// biome-ignore lint/suspicious/noExplicitAny: definitions of different aggregates in one registry
export type AnyAggregateDefinition = AggregateDefinition<string, any, any, any, any>;

/** The commands of a definition. */
export type CommandsOf<D> =
  D extends AggregateDefinition<string, infer C, unknown, Typed, Versioned> ? C : never;
/** The commands with their refs, as a definition's decider takes them. */
// biome-ignore lint/suspicious/noExplicitAny: only the decider's command type is read
export type ResolvedCommandsOf<D> = D extends { readonly decider: Decider<infer R, any, any> } ? R : never;
/** The events of a definition. */
// biome-ignore lint/suspicious/noExplicitAny: only the decider's event type is read
export type EventsOf<D> = D extends { readonly decider: Decider<any, infer E, any> } ? E : never;

/** `L` when it lists every member of `U`; otherwise a type naming the missing ones (a compile error). */
type Complete<U extends string, L extends readonly string[]> = [Exclude<U, L[number]>] extends [never]
  ? L
  : { readonly unlisted: Exclude<U, L[number]> };

/**
 * Types a definition: checks it against its aggregate's command, resolved command, event and state types, and
 * that `commandTypes` and `eventTypes` list every command and event type (a missing one does not compile).
 */
export function defineAggregate<
  T extends string,
  C extends Typed,
  R,
  E extends Typed,
  S extends Versioned,
  const LC extends readonly C["type"][],
  const LE extends readonly E["type"][],
>(
  definition: AggregateDefinition<T, C, R, E, S> & {
    readonly commandTypes: Complete<C["type"], LC>;
    readonly eventTypes: Complete<E["type"], LE>;
  },
): AggregateDefinition<T, C, R, E, S> {
  return definition;
}

/** Aggregate definitions by type, as a registry holds them. */
export type AggregateRegistry = { readonly [T in string]: AnyAggregateDefinition & { readonly type: T } };

/** What the domain derives from a registry (see `registry.ts` and what uses it: commands.ts, events.ts). */
export interface DerivedRegistry<Reg extends AggregateRegistry> {
  /** Every command type, aggregate by aggregate. */
  readonly commandTypes: readonly CommandsOf<Reg[keyof Reg]>["type"][];
  /** Every event type, aggregate by aggregate. */
  readonly eventTypes: readonly EventsOf<Reg[keyof Reg]>["type"][];
  /** The aggregate a command targets. */
  aggregateOf(command: CommandsOf<Reg[keyof Reg]>): {
    readonly type: keyof Reg & string;
    readonly id: string;
  };
  /** The commands for the service and admin roles only. */
  readonly privileged: ReadonlySet<string>;
  /** The commands that create an aggregate, whose owner is their `userId`. */
  readonly creating: ReadonlySet<string>;
}

/**
 * Derives the command and event lists, `aggregateOf` and the access rules from a registry.
 * @throws AppError INTERNAL when two aggregates claim the same command type (a programming error, at startup).
 */
export function deriveRegistry<Reg extends AggregateRegistry>(registry: Reg): DerivedRegistry<Reg> {
  const definitions: AnyAggregateDefinition[] = Object.values(registry);
  const byCommand = new Map<string, AnyAggregateDefinition>();
  for (const definition of definitions) {
    for (const type of definition.commandTypes) {
      const other = byCommand.get(type);
      if (other !== undefined)
        throw new Error(`${type} is a command of both ${other.type} and ${definition.type}`);
      byCommand.set(type, definition);
    }
  }
  return {
    commandTypes: [...byCommand.keys()],
    eventTypes: definitions.flatMap((d) => d.eventTypes),
    aggregateOf(command) {
      const definition = byCommand.get(command.type);
      if (definition === undefined)
        throw new AppError("INVALID_ARGUMENT", `unknown command type ${command.type}`);
      return { type: definition.type, id: definition.target(command) };
    },
    privileged: new Set(definitions.flatMap((d) => d.access.privileged)),
    creating: new Set(definitions.flatMap((d) => d.access.creates)),
  };
}
