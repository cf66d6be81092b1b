/** How one command request is defined: its schema and the mapping of a valid request to a domain command. */
import { z } from "zod";
import type { CommandOf, CommandType } from "../../domain";
import type { FieldViolation } from "../../errors";
import { type CommandEnvelopeOptions, commandOptionsSchema, toEnvelopeOptions } from "./options";
import { violationsOf } from "./violations";

/** The schema of a request: `options` plus the given fields (other properties, like `$typeName`, ignored). */
export function requestSchema<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.object({ options: commandOptionsSchema, ...shape });
}

/** An id from the request, lowercased, or a fresh one when the request left it empty. */
export function idOrNew(id: string, newId: () => string): string {
  return id === "" ? newId() : id.toLowerCase();
}

/** The outcome of checking one request. */
export type RequestCheck<T extends CommandType> =
  | { readonly ok: true; readonly command: CommandOf<T>; readonly options: CommandEnvelopeOptions }
  | { readonly ok: false; readonly violations: readonly FieldViolation[] };

/** One command request: its zod schema and how a request is checked and turned into a command. */
export interface CommandRequest<T extends CommandType> {
  readonly schema: z.ZodType;
  /** Every violation of `message`, or the domain command (missing ids filled by `newId`) and options. */
  check(message: unknown, newId: () => string): RequestCheck<T>;
}

/** A command without its `type`: what a request maps to. */
export type CommandFields<T extends CommandType> = Omit<CommandOf<T>, "type">;

/** Defines the request of command `type` from its schema and the mapping of a valid request to the command. */
export function defineRequest<
  T extends CommandType,
  S extends z.ZodType<{ readonly options?: z.output<typeof commandOptionsSchema> }>,
>(
  type: T,
  schema: S,
  toFields: (request: z.output<S>, newId: () => string) => CommandFields<T>,
): CommandRequest<T> {
  // zod's compiled fast path: about half the time of its runtime parser for a valid request, and the runtime's
  // own answer (the same issues) for an invalid one, to which it falls back.
  const compiled = z.compile(schema);
  return {
    schema,
    check(message, newId) {
      const parsed = compiled.safeParse(message);
      if (!parsed.success) return { ok: false, violations: violationsOf(parsed.error) };
      // `{ type, ...fields }` is exactly CommandOf<T>; TypeScript cannot see that for a generic T.
      const command = { type, ...toFields(parsed.data, newId) } as unknown as CommandOf<T>;
      return { ok: true, command, options: toEnvelopeOptions(parsed.data.options) };
    },
  };
}

/**
 * Options of a cross-field `superRefine`: run it even when fields already failed, so every violation is
 * reported (the refinement must then check the types of the fields it reads).
 */
export const always = { when: () => true };
