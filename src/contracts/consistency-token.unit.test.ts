import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { comparePoints, decodeToken, encodeToken, ORIGIN } from "./consistency-token";

const point = fc.record({
  transactionId: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
  position: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
});

describe("consistency tokens", () => {
  test("decode(encode(p)) is p", () => {
    fc.assert(fc.property(point, (p) => expect(decodeToken(encodeToken(p))).toEqual(p)));
  });
  test("order is by transaction id, then position", () => {
    expect(
      comparePoints({ transactionId: 5n, position: 100n }, { transactionId: 6n, position: 1n }),
    ).toBeLessThan(0);
    expect(
      comparePoints({ transactionId: 6n, position: 2n }, { transactionId: 6n, position: 1n }),
    ).toBeGreaterThan(0);
    expect(comparePoints(ORIGIN, ORIGIN)).toBe(0);
  });
  test("garbage is not a token", () => {
    for (const t of ["", "c1.", "c2.MTox", "c1.!!!", `c1.${Buffer.from("a:b").toString("base64url")}`]) {
      expect(decodeToken(t)).toBeUndefined();
    }
  });
});
