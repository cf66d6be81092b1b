import { describe, expect, test } from "bun:test";
import { AppError, isConnectionError } from "./app-error";

/** An error as `pg` throws it: a SQLSTATE in `code`. */
function pgError(code: string, message = "pg error"): Error {
  return Object.assign(new Error(message), { code });
}

describe("AppError.from", () => {
  test("a Postgres that cannot take the session now is UNAVAILABLE, not INTERNAL", () => {
    // 53300: "sorry, too many clients already"; 57P03: starting up; 57P01/57P02: shutting down; 08xxx: no connection.
    for (const code of ["53300", "57P01", "57P02", "57P03", "08001", "08004", "08006", "ECONNREFUSED"]) {
      expect(isConnectionError(pgError(code))).toBe(true);
      expect(AppError.from(pgError(code)).code).toBe("UNAVAILABLE");
    }
  });

  test("other failures stay INTERNAL, and AppErrors keep their code", () => {
    expect(AppError.from(pgError("22021")).code).toBe("INTERNAL");
    expect(AppError.from(new Error("boom")).code).toBe("INTERNAL");
    expect(AppError.from(new AppError("NOT_FOUND", "no")).code).toBe("NOT_FOUND");
  });
});
