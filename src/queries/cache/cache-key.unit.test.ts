import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { cacheKey, queryTypeOfKey } from "./cache-key";
import { canonicalJson } from "./canonical-json";

/** Shuffles the keys of every object inside a value (same meaning, another insertion order). */
function reorder(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v) => reorder(v, seed));
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value);
  const shuffled = entries.map((e, i) => [e, (i * 7919 + seed) % (entries.length + 1)] as const);
  shuffled.sort((a, b) => a[1] - b[1]);
  return Object.fromEntries(shuffled.map(([[k, v]]) => [k, reorder(v, seed)]));
}

const params = fc.dictionary(
  fc.string(),
  fc.oneof(fc.jsonValue(), fc.bigInt(), fc.constant(undefined)),
) as fc.Arbitrary<Record<string, unknown>>;

describe("canonicalJson", () => {
  test("sorts keys at every depth", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}',
    );
  });
  test("is JSON.stringify of the key-sorted value for plain JSON", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(JSON.parse(canonicalJson(v))).toEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
  });
  test("does not depend on key order", () => {
    fc.assert(
      fc.property(params, fc.nat(), (p, seed) => {
        expect(canonicalJson(reorder(p, seed))).toBe(canonicalJson(p));
      }),
    );
  });
  test("writes bigints as numbers, bytes as base64url, leaves out undefined properties", () => {
    expect(canonicalJson({ n: 2n ** 64n, b: new Uint8Array([251, 255]), u: undefined })).toBe(
      '{"b":"-_8","n":18446744073709551616}',
    );
    expect(canonicalJson([undefined])).toBe("[null]");
  });
  test("refuses values without a faithful JSON form", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, () => 1, Symbol("s"), cyclic]) {
      expect(() => canonicalJson({ x: bad })).toThrow(TypeError);
    }
  });
  test("a value shared twice is not a cycle", () => {
    const shared = { a: 1 };
    expect(canonicalJson({ x: shared, y: shared })).toBe('{"x":{"a":1},"y":{"a":1}}');
  });
});

describe("cacheKey", () => {
  test("equal for the same query and parameters in any order", () => {
    expect(cacheKey("ListDocuments", { user_id: "u1", status: 2 })).toBe(
      cacheKey("ListDocuments", { status: 2, user_id: "u1" }),
    );
  });
  test("differs for another query type or other parameters", () => {
    const base = cacheKey("ListDocuments", { user_id: "u1" });
    expect(cacheKey("ListConversations", { user_id: "u1" })).not.toBe(base);
    expect(cacheKey("ListDocuments", { user_id: "u2" })).not.toBe(base);
    expect(cacheKey("ListDocuments", { user_id: "u1", status: 1 })).not.toBe(base);
  });
  test("the query type reads back from the key, whatever its characters", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), params, (type, p) => {
        expect(queryTypeOfKey(cacheKey(type, p))).toBe(type);
      }),
    );
    expect(queryTypeOfKey("not a cache key")).toBeUndefined();
  });
  test("distinct (type, parameters) give distinct keys", () => {
    fc.assert(
      fc.property(fc.string(), params, fc.string(), params, (t1, p1, t2, p2) => {
        const same = t1 === t2 && canonicalJson(p1) === canonicalJson(p2);
        expect(cacheKey(t1, p1) === cacheKey(t2, p2)).toBe(same);
      }),
    );
  });
});
