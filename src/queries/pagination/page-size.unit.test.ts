import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { AppError } from "../../errors";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, pageSize } from "./page-size";

function violation(f: () => unknown) {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return { code: (e as AppError).code, violations: (e as AppError).violations };
  }
  throw new Error("expected an AppError");
}

describe("pageSize", () => {
  test("0 (unset) is the default, 50", () => {
    expect(pageSize(0)).toBe(DEFAULT_PAGE_SIZE);
    expect(DEFAULT_PAGE_SIZE).toBe(50);
  });
  test("1..500 are served as asked; more is lowered to 500", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), (n) => {
        expect(pageSize(n)).toBe(Math.min(n, 500));
      }),
    );
    expect(pageSize(MAX_PAGE_SIZE + 1)).toBe(500);
  });
  test("negative is INVALID_ARGUMENT on page_size", () => {
    fc.assert(
      fc.property(fc.integer({ max: -1 }), (n) => {
        expect(violation(() => pageSize(n))).toEqual({
          code: "INVALID_ARGUMENT",
          violations: [{ field: "page_size", description: "must not be negative" }],
        });
      }),
    );
  });
  test("a non-integer is INVALID_ARGUMENT on page_size", () => {
    for (const n of [1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(violation(() => pageSize(n)).violations[0]?.field).toBe("page_size");
    }
  });
});
