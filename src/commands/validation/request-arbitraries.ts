/**
 * fast-check building blocks for the property tests of request validation (test-only: not exported from
 * the index): valid field values, and per field, values that break exactly that field.
 */
import fc from "fast-check";
import type { CommandType } from "../../domain";
import { codePoints } from "./fields";

/** A way to break one field of a message: its protobuf path and the bad values to put there. */
export interface Breaker {
  readonly field: string;
  readonly bad: fc.Arbitrary<unknown>;
  readonly set: (message: Record<string, unknown>, value: unknown) => void;
}

/** The generators of one RPC's requests. */
export interface RequestCase {
  readonly name: string;
  readonly rpc: CommandType;
  readonly valid: fc.Arbitrary<Record<string, unknown>>;
  readonly breakers: readonly Breaker[];
}

/** Breaks the top-level property `key` (protobuf field `field`). */
export const top = (key: string, field: string, bad: fc.Arbitrary<unknown>): Breaker => ({
  field,
  bad,
  set: (message, value) => {
    message[key] = value;
  },
});
/** Breaks `options.<key>`. */
export const option = (key: string, field: string, bad: fc.Arbitrary<unknown>): Breaker => ({
  field: `options.${field}`,
  bad,
  set: (message, value) => {
    message.options = { ...(message.options as object | undefined), [key]: value };
  },
});

/** Valid field values. */
export const uuid = fc.uuid();
export const optionalUuid = fc.oneof(fc.constant(""), uuid);
export const notUuid = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/^[0-9a-f-]{36}$/i.test(s));
export const text = (min: number, max: number) =>
  fc
    .string({ unit: "binary", minLength: min, maxLength: max })
    .filter((s) => s.trim() !== "" && codePoints(s.trim()) <= max);
export const email = fc
  .tuple(
    fc.stringMatching(/^[a-z0-9]{1,20}$/),
    fc.stringMatching(/^[a-z0-9]{1,20}$/),
    fc.constantFrom("io", "com", "org"),
  )
  .map(([local, domain, tld]) => `${local}@${domain}.${tld}`);
export const uint32 = fc.integer({ min: 0, max: 0xffff_ffff });

export const options = fc.option(
  fc.record({
    commandId: fc.oneof(fc.constant(""), fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/)),
    expectedVersion: fc.option(fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }), { nil: undefined }),
  }),
  { nil: undefined },
);

/** Values that break one field each. */
export const badRequiredUuid = fc.oneof(fc.constant(""), notUuid, fc.integer());
export const badOptionalUuid = fc.oneof(notUuid, fc.constant(null));
export const badLabel = (max: number) =>
  fc.oneof(fc.constantFrom("", "   ", "\t\n"), fc.constant("é".repeat(max + 1)), fc.constant(42));
export const badEmail = fc.oneof(
  fc.constantFrom("", "no-at-sign", "a@", "@b.io", `${"a".repeat(250)}@b.io`),
  fc.constant(7),
);
export const badPositive = fc.constantFrom(0, -1, Number.NaN, Number.POSITIVE_INFINITY, "3");
export const badUint32 = fc.constantFrom(-1, 1.5, 2 ** 32, Number.NaN, "5");
export const badFailureReasonLength = fc.constantFrom("x".repeat(1001), 5);

/** Breakers of the envelope options, common to every request. */
export const optionBreakers = [
  option(
    "commandId",
    "command_id",
    fc.oneof(fc.constantFrom("has space", "x".repeat(129), "ü"), fc.constant(5)),
  ),
  option("expectedVersion", "expected_version", fc.oneof(fc.bigInt({ max: -1n }), fc.constantFrom(5, "1"))),
];

/** One byte more than the 2 MiB a document may have. */
export const bigContent = new Uint8Array(2 * 1024 * 1024 + 1);
