/**
 * Every domain command, the refs each one needs, and the aggregate each one targets.
 *
 * A {@link DomainCommand} is the caller's intent, as validation produces it and the transport carries it.
 * Before deciding, the command handler resolves it into a {@link ResolvedCommand} by adding the `refs`
 * its decider needs (see each aggregate's `commands.ts`; commands without refs stay unchanged).
 */
import type { AggregateRef, Registry } from "./aggregate";
import { type CommandsOf, deriveRegistry, type ResolvedCommandsOf } from "./definition";
import { aggregates } from "./registry";

/** Any domain command, discriminated by `type` (the RPC name): the commands of every registered aggregate. */
export type DomainCommand = { [T in keyof Registry]: CommandsOf<Registry[T]> }[keyof Registry];

/** The type (RPC name) of a domain command. */
export type CommandType = DomainCommand["type"];

/** The command of a given type. */
export type CommandOf<T extends CommandType> = Extract<DomainCommand, { readonly type: T }>;

/** Any domain command with its refs, as the deciders take it. */
export type ResolvedCommand = { [T in keyof Registry]: ResolvedCommandsOf<Registry[T]> }[keyof Registry];

/** What is derived from the registry: the command and event lists, `aggregateOf`, the access rules. */
export const derived = deriveRegistry(aggregates);

/** Every command type, aggregate by aggregate in the registry's order. */
export const commandTypes: readonly CommandType[] = derived.commandTypes;

/**
 * The aggregate a command targets (the routing key of its mailbox).
 * @throws AppError INVALID_ARGUMENT for a command type no registered aggregate has.
 */
export const aggregateOf: (command: DomainCommand) => AggregateRef = derived.aggregateOf;

/** The commands for the service and admin roles only, from every aggregate's access rules. */
export const privilegedCommands: ReadonlySet<string> = derived.privileged;

/** The commands that create an aggregate (its owner is their `userId`), from every aggregate's access rules. */
export const creatingCommands: ReadonlySet<string> = derived.creating;
