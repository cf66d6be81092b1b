/**
 * Field schemas shared by the command requests. Each reports at most ONE violation per field (its type
 * error, else the first rule it breaks), so a request with k broken fields yields exactly k violations.
 * Lengths count Unicode code points, not UTF-16 units.
 */
import { z } from "zod";
import { documentContentTypes } from "../../domain";
import {
  maxDocumentBytes,
  maxEmailLength,
  maxFailureReasonLength,
  maxTurnTextLength,
  maxUint32,
} from "./limits";

/** A rule: a predicate and the description reported when it fails. */
export type Rule<T> = readonly [ok: (value: T) => boolean, description: string];

/** `base` plus rules checked in order; only the first rule broken is reported. */
export function checked<S extends z.ZodType>(base: S, rules: readonly Rule<z.output<S>>[]): S {
  return base.superRefine((value, ctx) => {
    const broken = rules.find(([ok]) => !ok(value));
    if (broken !== undefined) ctx.addIssue({ code: "custom", message: broken[1] });
  });
}

/**
 * A value that `guard` accepts, then `rules`: one schema reporting at most one violation. Unlike
 * `z.custom` with a predicate (whose issue aborts the whole request), its issue lets the cross-field rules
 * of the request still run.
 */
export function typed<T>(
  guard: (value: unknown) => boolean,
  description: string,
  rules: readonly Rule<T>[] = [],
) {
  return checked(
    z.custom<T>(() => true),
    [[guard, description], ...rules],
  );
}

const isNumber = (v: unknown): boolean => typeof v === "number";

/** Number of Unicode code points in `s`. */
export function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n += 1;
  return n;
}

// The patterns z.uuid() and z.email() test, tested directly: a zod parse per id costs a result object and more.
const uuidPattern = z.regexes.uuid();
const emailPattern = z.regexes.email;
const isUuid = (s: string) => uuidPattern.test(s);

/** A required UUID. */
export const uuid = checked(z.string(), [
  [(s) => s !== "", "is required"],
  [isUuid, "must be a UUID"],
]);

/** A UUID that may be empty (the server generates one, or uses a default). */
export const optionalUuid = checked(z.string(), [[(s) => s === "" || isUuid(s), "must be a UUID or empty"]]);

/** An email address. */
export const email = checked(z.string(), [
  [(s) => s !== "", "is required"],
  [(s) => codePoints(s) <= maxEmailLength, `must be at most ${maxEmailLength} characters`],
  [(s) => emailPattern.test(s), "must be a valid email address"],
]);

/** A human-readable label of 1..`max` code points that is not blank; it is stored trimmed. */
export function label(max: number) {
  return checked(z.string(), [
    [(s) => s.trim() !== "", "is required and must not be blank"],
    [(s) => codePoints(s.trim()) <= max, `must be at most ${max} characters`],
  ]);
}

/** A finite, strictly positive double. */
export const positiveDouble = typed<number>(isNumber, "must be a number", [
  [(n) => Number.isFinite(n) && n > 0, "must be a finite number greater than 0"],
]);

/** Any double (NaN included); range checks depend on other fields. */
export const double = typed<number>(isNumber, "must be a number");

/** A protobuf uint32: an integer 0..2^32-1. */
export const uint32 = typed<number>(isNumber, "must be a number", [
  [(n) => Number.isInteger(n) && n >= 0 && n <= maxUint32, "must be an integer between 0 and 4294967295"],
]);

/** A failure reason of at most 1000 code points (whether it is required depends on `succeeded`). */
export const failureReason = checked(z.string(), [
  [(s) => codePoints(s) <= maxFailureReasonLength, `must be at most ${maxFailureReasonLength} characters`],
]);

/** A document content type. */
export const contentType = checked(z.string(), [
  [
    (s) => (documentContentTypes as readonly string[]).includes(s),
    `must be one of ${documentContentTypes.join(", ")}`,
  ],
]);

/** Document content: 1 byte .. 2 MiB. */
export const content = typed<Uint8Array>((v) => v instanceof Uint8Array, "must be bytes", [
  [(b) => b.byteLength > 0, "must not be empty"],
  [(b) => b.byteLength <= maxDocumentBytes, `must be at most ${maxDocumentBytes} bytes (2 MiB)`],
]);

/** Conversation turn text: 1..10000 code points. */
export const turnText = checked(z.string(), [
  [(s) => s !== "", "is required"],
  [(s) => codePoints(s) <= maxTurnTextLength, `must be at most ${maxTurnTextLength} characters`],
]);

/** The protobuf `Speaker` enum values a turn may have. */
export const speakerValues = { SPEAKER_USER: 1, SPEAKER_CLONE: 2 } as const;

/** A `Speaker` enum value: SPEAKER_USER or SPEAKER_CLONE (not UNSPECIFIED). */
export const speaker = typed<number>(isNumber, "must be a number", [
  [
    (n) => n === speakerValues.SPEAKER_USER || n === speakerValues.SPEAKER_CLONE,
    "must be SPEAKER_USER or SPEAKER_CLONE",
  ],
]);

/** A list of strings (a protobuf `repeated string`), reported as one violation when malformed. */
export const stringList = typed<string[]>(
  (v) => Array.isArray(v) && v.every((s) => typeof s === "string"),
  "must be a list of strings",
);
