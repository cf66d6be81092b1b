import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { AppError, ConfigError } from "../../errors";
import { canonicalJson } from "../cache";
import { createPageTokens, type KeysetValue } from "./page-tokens";

const SECRET = "test-secret-0123456789abcdef";
const tokens = createPageTokens(SECRET);

const queryType = fc.constantFrom("ListDocuments", "ListConversations", "GetConversationHistory", "X");
const params = fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 })) as fc.Arbitrary<
  Record<string, unknown>
>;
const keysetValue: fc.Arbitrary<KeysetValue> = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const keyset = fc.array(keysetValue, { minLength: 1, maxLength: 4 });

/** The `page_token` violation description of a refused token. */
function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (!(e instanceof AppError)) throw e;
    expect(e.code).toBe("INVALID_ARGUMENT");
    expect(e.violations).toHaveLength(1);
    expect(e.violations[0]?.field).toBe("page_token");
    return e.violations[0]?.description ?? "";
  }
  throw new Error("expected the token to be refused");
}

describe("page tokens", () => {
  test("property: decode(encode(k)) is k for the same query and parameters", () => {
    fc.assert(
      fc.property(queryType, params, keyset, (q, p, k) => {
        const token = tokens.encode(q, p, k);
        expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(tokens.decode(token, q, p)).toEqual(k.map((v) => (Object.is(v, -0) ? 0 : v)));
      }),
    );
  });

  test("parameters are compared in canonical form (key order does not matter)", () => {
    const token = tokens.encode("ListDocuments", { user_id: "u1", status: 2 }, [
      "2024-01-01T00:00:00Z",
      "d9",
    ]);
    expect(tokens.decode(token, "ListDocuments", { status: 2, user_id: "u1" })).toEqual([
      "2024-01-01T00:00:00Z",
      "d9",
    ]);
  });

  test("property: a token is refused for another query type or other filters", () => {
    fc.assert(
      fc.property(queryType, params, queryType, params, keyset, (q1, p1, q2, p2, k) => {
        fc.pre(q1 !== q2 || canonicalJson(p1) !== canonicalJson(p2));
        const token = tokens.encode(q1, p1, k);
        expect(refusal(() => tokens.decode(token, q2, p2))).toBe(
          "was issued for a different query or different filters",
        );
      }),
    );
    const token = tokens.encode("ListDocuments", { user_id: "u1", status: 0 }, [1]);
    expect(() => tokens.decode(token, "ListDocuments", { user_id: "u2", status: 0 })).toThrow(AppError);
    expect(() => tokens.decode(token, "ListConversations", { user_id: "u1", status: 0 })).toThrow(AppError);
  });

  test("property: changing any character of a token makes it invalid", () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    fc.assert(
      fc.property(params, keyset, fc.nat(), fc.nat(), (p, k, at, by) => {
        const token = tokens.encode("ListDocuments", p, k);
        const i = at % token.length;
        const c = alphabet[(alphabet.indexOf(token[i] as string) + 1 + (by % 63)) % 64] as string;
        const tampered = token.slice(0, i) + c + token.slice(i + 1);
        expect(refusal(() => tokens.decode(tampered, "ListDocuments", p))).toBe("is not a valid page token");
      }),
    );
  });

  test("property: flipping any bit of the decoded bytes makes it invalid", () => {
    fc.assert(
      fc.property(keyset, fc.nat(), fc.integer({ min: 0, max: 7 }), (k, at, bit) => {
        const bytes = Buffer.from(tokens.encode("X", {}, k), "base64url");
        const i = at % bytes.length;
        bytes[i] = (bytes[i] as number) ^ (1 << bit);
        expect(() => tokens.decode(bytes.toString("base64url"), "X", {})).toThrow(AppError);
      }),
    );
  });

  test("a forged keyset (re-encoded without the secret) is refused", () => {
    const token = tokens.encode("ListDocuments", { user_id: "u1" }, ["a", 1]);
    const bytes = Buffer.from(token, "base64url");
    const forged = Buffer.concat([
      bytes.subarray(0, 13),
      Buffer.from(JSON.stringify(["z", 999])),
      bytes.subarray(bytes.length - 16),
    ]);
    expect(
      refusal(() => tokens.decode(forged.toString("base64url"), "ListDocuments", { user_id: "u1" })),
    ).toBe("is not a valid page token");
  });

  test("a token signed with another secret is refused", () => {
    const other = createPageTokens("another-secret-0123456789");
    const token = other.encode("ListDocuments", { user_id: "u1" }, [1]);
    expect(refusal(() => tokens.decode(token, "ListDocuments", { user_id: "u1" }))).toBe(
      "is not a valid page token",
    );
  });

  test("garbage is refused as INVALID_ARGUMENT on page_token, never thrown otherwise", () => {
    for (const t of ["", "!!!", "abc", "a=", "A".repeat(5000), `${tokens.encode("X", {}, [1])}=`]) {
      expect(refusal(() => tokens.decode(t, "X", {}))).toBe("is not a valid page token");
    }
    fc.assert(
      fc.property(fc.string(), (t) => {
        refusal(() => tokens.decode(t, "X", {}));
      }),
    );
  });

  test("encode refuses keysets it could not give back", () => {
    for (const bad of [[], [Number.NaN], [Number.POSITIVE_INFINITY], [null]] as unknown as KeysetValue[][]) {
      expect(() => tokens.encode("X", {}, bad)).toThrow(TypeError);
    }
  });

  test("a short secret is refused", () => {
    expect(() => createPageTokens("short")).toThrow(ConfigError);
    expect(() => createPageTokens(new Uint8Array(16))).not.toThrow();
  });
});
