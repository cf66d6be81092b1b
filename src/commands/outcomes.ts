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
