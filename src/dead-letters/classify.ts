/**
 * Failure classification where work is retried (see STYLE.md, "Failure is a first-class path"):
 *
 * - `transient`: a dependency was unreachable or busy, or a transaction lost a race (connection errors,
 *   SQLSTATE classes 08, 40, 53, 57, 58, lock timeouts; UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED). Retried with
 *   capped exponential backoff and jitter, in the item's own lane.
 * - `deterministic`: the item itself cannot be handled and never will be (decoding, constraint or validation
 *   failures: SQLSTATE classes 22, 23, 42, 54; INVALID_ARGUMENT and the other domain answers; a NATS payload
 *   over the server's limit; a {@link PoisonError}). Dead-lettered at once.
 * - `unknown`: anything else (a bug, INTERNAL). Retried like a transient failure, and dead-lettered once the
 *   same item has failed {@link RetryPolicy.maxAttempts} times.
 */
import { AppError, isConnectionError, isSerializedAppError } from "../errors";

/** How a failure is handled. */
export type FailureClass = "transient" | "deterministic" | "unknown";

/** A failure known to be caused by the item itself: it is dead-lettered at once. */
export class PoisonError extends Error {
  override readonly name = "PoisonError";
}

const transientSqlClasses = new Set(["08", "40", "53", "57", "58"]);
const deterministicSqlClasses = new Set(["22", "23", "42", "54"]);
const transientCodes = new Set([
  "UNAVAILABLE",
  "DEADLINE_EXCEEDED",
  "ABORTED",
  "RESOURCE_EXHAUSTED",
  "CANCELLED",
]);
const unknownCodes = new Set(["INTERNAL", "UNKNOWN", "DATA_LOSS"]);

/** Classifies anything thrown while handling an item. */
export function classifyFailure(error: unknown): FailureClass {
  if (error instanceof PoisonError) return "deterministic";
  if (isConnectionError(error)) return "transient";
  if (error instanceof AppError || isSerializedAppError(error)) {
    const code = (error as { code: string }).code;
    if (transientCodes.has(code)) return "transient";
    if (unknownCodes.has(code)) {
      const cause = error instanceof AppError ? error.cause : undefined;
      return cause === undefined ? "unknown" : classifyFailure(cause);
    }
    return "deterministic";
  }
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : "";
  if (/^[0-9A-Z]{5}$/.test(code)) {
    if (code === "55P03") return "transient"; // lock_not_available
    if (transientSqlClasses.has(code.slice(0, 2))) return "transient";
    if (deterministicSqlClasses.has(code.slice(0, 2))) return "deterministic";
  }
  const message = typeof e?.message === "string" ? e.message : String(error);
  if (/MAX_PAYLOAD|maximum payload/i.test(code + message)) return "deterministic";
  if (/TIMEOUT|timed out|timeout/i.test(code + message)) return "transient";
  if (error instanceof SyntaxError || error instanceof RangeError) return "deterministic";
  return "unknown";
}

/** When an item that failed is tried again, and when it is dead-lettered instead. */
export interface RetryPolicy {
  /** First backoff, ms (default 500). */
  readonly baseMs: number;
  /** Longest backoff, ms (default 30 s). */
  readonly capMs: number;
  /** Failures of an `unknown` class before the item is dead-lettered (default 5). */
  readonly maxAttempts: number;
  /** Failures of a `transient` class before the item is dead-lettered all the same (default 100: ~45 min). */
  readonly maxTransientAttempts: number;
}

/** The default {@link RetryPolicy}. */
export const defaultRetryPolicy: RetryPolicy = {
  baseMs: 500,
  capMs: 30_000,
  maxAttempts: 5,
  maxTransientAttempts: 100,
};

/** What to do with an item after its `attempts`-th failure. */
export type RetryDecision =
  | { readonly action: "retry"; readonly delayMs: number; readonly failure: FailureClass }
  | { readonly action: "dead-letter"; readonly failure: FailureClass };

/** Decides between another attempt (after a jittered, capped exponential backoff) and a dead letter. */
export function decideRetry(
  error: unknown,
  attempts: number,
  policy: RetryPolicy = defaultRetryPolicy,
  random: () => number = Math.random,
): RetryDecision {
  const failure = classifyFailure(error);
  const limit =
    failure === "deterministic"
      ? 1
      : failure === "transient"
        ? policy.maxTransientAttempts
        : policy.maxAttempts;
  if (attempts >= limit) return { action: "dead-letter", failure };
  return { action: "retry", delayMs: backoffMs(attempts, policy, random), failure };
}

/** Capped exponential backoff with "equal jitter": between half and all of min(cap, base * 2^(n-1)). */
export function backoffMs(
  attempts: number,
  policy: RetryPolicy = defaultRetryPolicy,
  random = Math.random,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** A one-line description of an error, safe to store as Postgres text (no U+0000) and bounded. */
export function describeError(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === "string" ? `${e.code}: ` : "";
  const message = typeof e?.message === "string" ? e.message : String(error);
  return storableText(`${code}${message}`).slice(0, 2_000);
}

/** Text Postgres `text` accepts: U+0000 written as the escape `\u0000`. */
export function storableText(text: string): string {
  return text.replaceAll("\u0000", "\\u0000");
}
