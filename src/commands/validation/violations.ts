/** Turning zod issues into the field violations of an INVALID_ARGUMENT error. */
import type { z } from "zod";
import type { FieldViolation } from "../../errors";

/** `displayName` -> `display_name`: protobuf field names from protobuf-es property names. */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The protobuf field path of an issue: `options.command_id`, `chunks[2]`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += `${out === "" ? "" : "."}${snakeCase(String(key))}`;
  }
  return out;
}

/** One violation per zod issue, with snake_case field paths, in the order reported. */
export function violationsOf(error: z.ZodError): FieldViolation[] {
  return error.issues.map((issue) => ({ field: fieldPath(issue.path), description: issue.message }));
}
