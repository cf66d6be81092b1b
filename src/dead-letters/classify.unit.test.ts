import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { AppError } from "../errors";
import {
  backoffMs,
  classifyFailure,
  decideRetry,
  defaultRetryPolicy,
  describeError,
  PoisonError,
} from "./classify";

const pg = (code: string, message = "pg error") => Object.assign(new Error(message), { code });

describe("classifyFailure", () => {
  test("transient: unreachable dependencies, serialization conflicts, timeouts", () => {
    for (const error of [
      pg("ECONNREFUSED"),
      pg("40001"),
      pg("40P01"),
      pg("57P01"),
      pg("53300"),
      pg("55P03"),
      new AppError("UNAVAILABLE", "bus down"),
      new AppError("DEADLINE_EXCEEDED", "slow"),
      new Error("request timed out"),
    ])
      expect(classifyFailure(error)).toBe("transient");
  });

  test("deterministic: decoding, constraints, values Postgres refuses, domain answers, payloads over the limit", () => {
    for (const error of [
      pg("22021", "invalid byte sequence for encoding UTF8: 0x00"),
      pg("22P05"),
      pg("23514"),
      pg("54000"),
      new SyntaxError("Unexpected token"),
      new PoisonError("bad"),
      new AppError("INVALID_ARGUMENT", "no"),
      new AppError("INTERNAL", "internal error", { cause: pg("22021") }),
      new Error("MAX_PAYLOAD_EXCEEDED"),
    ])
      expect(classifyFailure(error)).toBe("deterministic");
  });

  test("unknown: bugs and INTERNAL without a known cause", () => {
    expect(classifyFailure(new Error("undefined is not a function"))).toBe("unknown");
    expect(classifyFailure(new AppError("INTERNAL", "internal error"))).toBe("unknown");
  });
});

describe("decideRetry", () => {
  test("deterministic at once, unknown after maxAttempts, transient after maxTransientAttempts", () => {
    expect(decideRetry(pg("22021"), 1).action).toBe("dead-letter");
    expect(decideRetry(new Error("bug"), 4).action).toBe("retry");
    expect(decideRetry(new Error("bug"), 5).action).toBe("dead-letter");
    expect(decideRetry(pg("ECONNREFUSED"), 99).action).toBe("retry");
    expect(decideRetry(pg("ECONNREFUSED"), 100).action).toBe("dead-letter");
  });

  test("backoff grows exponentially, is capped, and is jittered within [half, all] of its ceiling", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, r) => {
        const ceiling = Math.min(defaultRetryPolicy.capMs, defaultRetryPolicy.baseMs * 2 ** (n - 1));
        const delay = backoffMs(n, defaultRetryPolicy, () => r);
        return (
          delay >= Math.floor(ceiling / 2) && delay <= Math.ceil(ceiling) && delay <= defaultRetryPolicy.capMs
        );
      }),
    );
    expect(backoffMs(1, defaultRetryPolicy, () => 1)).toBe(500);
    expect(backoffMs(3, defaultRetryPolicy, () => 1)).toBe(2_000);
    expect(backoffMs(50, defaultRetryPolicy, () => 1)).toBe(30_000);
  });

  test("describeError keeps the code, drops U+0000 and is bounded", () => {
    expect(describeError(pg("22021", "bad \u0000 byte"))).toBe("22021: bad \\u0000 byte");
    expect(describeError(new Error("x".repeat(5_000))).length).toBe(2_000);
  });
});
