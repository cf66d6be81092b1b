/** The `CommandOptions` envelope every command request carries. */
import { z } from "zod";
import { AppError } from "../../errors";
import { checked } from "./fields";
import { commandIdPattern } from "./limits";
import { violationsOf } from "./violations";

/** `options`: the client's idempotency key and optional expected version (unset message: both absent). */
export const commandOptionsSchema = z
  .object({
    commandId: checked(z.string(), [
      [(s) => s === "" || commandIdPattern.test(s), "must be 1..128 characters of A-Z a-z 0-9 . _ : -"],
    ]).optional(),
    expectedVersion: checked(z.bigint(), [[(v) => v >= 0n, "must be >= 0"]]).optional(),
  })
  .optional();

/** The envelope options of a command, as the command path uses them. */
export interface CommandEnvelopeOptions {
  /** The client's idempotency key; "" when not given (the server then makes one). */
  readonly commandId: string;
  /** The version the target aggregate must have, or undefined for no check. */
  readonly expectedVersion: bigint | undefined;
}

/** Options from an already validated `options` value. */
export function toEnvelopeOptions(options: z.output<typeof commandOptionsSchema>): CommandEnvelopeOptions {
  return { commandId: options?.commandId ?? "", expectedVersion: options?.expectedVersion };
}

const envelopeSchema = z.object({ options: commandOptionsSchema });

/**
 * The envelope options of any command request message.
 * @throws AppError INVALID_ARGUMENT listing every violation of `options`.
 */
export function commandOptionsOf(message: unknown): CommandEnvelopeOptions {
  const parsed = envelopeSchema.safeParse(message);
  if (!parsed.success) throw AppError.invalid(violationsOf(parsed.error));
  return toEnvelopeOptions(parsed.data.options);
}
