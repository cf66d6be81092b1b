/** Outcomes shared by the gateway and the workers. */
import { AppError } from "../errors";
import type { CommandOutcome } from "./envelope";

/** The same outcome, flagged as the stored answer of an earlier identical command. */
export function markDuplicate(outcome: CommandOutcome): CommandOutcome {
  return outcome.ok ? { ok: true, result: { ...outcome.result, duplicate: true } } : outcome;
}

/** INVALID_ARGUMENT for a command id already used with another payload. */
export function reusedIdOutcome(): CommandOutcome {
  const description = "was already used with a different payload";
  return {
    ok: false,
    error: new AppError("INVALID_ARGUMENT", `options.command_id: ${description}`, {
      violations: [{ field: "options.command_id", description }],
    }).serialize(),
  };
}

/** An error outcome. */
export function failed(error: AppError): CommandOutcome {
  return { ok: false, error: error.serialize() };
}

/** The message of {@link skippedOutcome}: also what tells a reply that answers nobody. */
const SKIPPED_MESSAGE =
  "the caller's deadline passed before the command ran; it was not applied: retry with the same command_id";

/**
 * What a worker answers for a command whose caller's deadline passed before it ran: DEADLINE_EXCEEDED,
 * nothing applied and nothing stored, so a retry with the same command id is applied once (or answered from
 * the stored result of another copy). Nobody waits for this answer; a gateway drops it ({@link isSkipped}).
 */
export function skippedOutcome(): CommandOutcome {
  return failed(new AppError("DEADLINE_EXCEEDED", SKIPPED_MESSAGE));
}

/** True for {@link skippedOutcome}: the answer to an attempt whose caller had gone. */
export function isSkipped(outcome: CommandOutcome): boolean {
  return (
    !outcome.ok && outcome.error.code === "DEADLINE_EXCEEDED" && outcome.error.message === SKIPPED_MESSAGE
  );
}

/** How the answer of a dead-lettered command begins (src/actors/dead-letter-command.ts). */
export const DEAD_LETTERED = "the command could not be applied and was set aside for an operator";

/** True for the answer of a command that was dead-lettered (it will not succeed by being sent again). */
export function isDeadLettered(error: { readonly message: string }): boolean {
  return error.message.startsWith(DEAD_LETTERED);
}
