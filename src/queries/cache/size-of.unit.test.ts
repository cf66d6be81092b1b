import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { estimateSize } from "./size-of";

describe("estimateSize", () => {
  test("is the JSON length for plain JSON values (escapes aside)", () => {
    expect(estimateSize({ a: [1, "xy", null, true], b: {}, c: [] })).toBe(
      JSON.stringify({ a: [1, "xy", null, true], b: {}, c: [] }).length,
    );
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        // Escapes make the JSON longer than the estimate: at most 5 characters each (`\uXXXX` for one).
        const json = JSON.stringify(v);
        const backslashes = json.match(/\\/g)?.length ?? 0;
        expect(estimateSize(v)).toBeLessThanOrEqual(json.length);
        expect(estimateSize(v)).toBeGreaterThanOrEqual(json.length - 5 * backslashes);
      }),
    );
  });
  test("handles bigints (protobuf int64) and counts byte arrays by their bytes", () => {
    expect(estimateSize({ seconds: 1_700_000_000n })).toBeGreaterThan(10);
    expect(estimateSize(new Uint8Array(1000))).toBe(1000);
    expect(estimateSize({ content: new Uint8Array(4096) })).toBeGreaterThan(4096);
  });
  test("grows with the data", () => {
    const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `doc-${i}`, words: BigInt(i) }));
    expect(estimateSize(rows(500))).toBeGreaterThan(10 * estimateSize(rows(10)));
  });
  test("does not loop on cycles", () => {
    const cyclic: Record<string, unknown> = { a: "x" };
    cyclic.self = cyclic;
    expect(estimateSize(cyclic)).toBeGreaterThan(0);
  });
});
