import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { canonicalJson, canonicalJsonReference, payloadHash, uuidFrom } from "./payload";

/** The text, or the name of the error thrown (a bigint throws in both). */
function outcome(f: (v: unknown) => string, value: unknown): string {
  try {
    return `ok:${f(value)}`;
  } catch (error) {
    return `throws:${error instanceof Error ? error.name : String(error)}`;
  }
}

describe("canonicalJson", () => {
  test("sorts keys at every depth and drops what JSON drops", () => {
    expect(canonicalJson({ b: 1, a: [{ d: undefined, c: "x" }, undefined, () => 1], e: Number.NaN })).toBe(
      '{"a":[{"c":"x"},null,null],"b":1,"e":null}',
    );
  });

  test("array-index keys come first, in numeric order, as in the reference's sorted copy", () => {
    const value = { b: 1, "10": 2, "2": 3, a: 4, "01": 5, "4294967295": 6 };
    expect(canonicalJson(value)).toBe(canonicalJsonReference(value));
    expect(canonicalJson(value)).toBe('{"2":3,"10":2,"01":5,"4294967295":6,"a":4,"b":1}');
  });

  test("equals the reference on any JSON-like value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(canonicalJson(value)).toBe(canonicalJsonReference(value));
      }),
      { numRuns: 2_000 },
    );
  });

  test("equals the reference on anything (dates, boxed values, null prototypes, __proto__ keys, bigints)", () => {
    const anything = fc.anything({
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withNullPrototype: true,
      withObjectString: true,
      withSparseArray: true,
      withTypedArray: true,
      withMap: true,
      withSet: true,
      key: fc.oneof(fc.string(), fc.constantFrom("__proto__", "toJSON", "0", "10", "01", "-1", "4294967295")),
    });
    fc.assert(
      fc.property(anything, (value) => {
        expect(outcome(canonicalJson, value)).toBe(outcome(canonicalJsonReference, value));
      }),
      { numRuns: 3_000 },
    );
  });

  test("payload hashes and derived ids are stable across releases", () => {
    // Stored results are matched by these hashes, and retries by these ids: they must never change.
    const payload = { type: "CreateUser", userId: uuidFrom("stable"), email: "a@b.c", displayName: "Ä 😀" };
    expect(uuidFrom("stable")).toBe("f379ccb9-2b91-8644-adc6-5bdc35648a85");
    expect(payloadHash(payload, undefined)).toBe(
      "32cba8efda639310726badbdea81a0e412ca5f4784c28dbde46f3f6b0b63d6eb",
    );
    expect(payloadHash({ type: "X", n: [1, { z: 1, a: "\ud800" }] }, 3)).toBe(
      "d83ea2a1cd393d9288eb056cff878d6ca1462c2b8cf3a9930746dc864aaf9425",
    );
  });
});
