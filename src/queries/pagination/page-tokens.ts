/**
 * Opaque keyset page tokens.
 *
 * A token carries the sort key of the last row served (`after`), so the next page is `WHERE (k1, k2) > (...)`
 * rather than an OFFSET. Clients must not be able to forge those values (to skip another user's rows or craft
 * odd keysets), nor to replay a token against another query or other filters, where its keyset would mean
 * something else. So a token is bound to the query type and a hash of the filter parameters, and signed:
 *
 *     base64url( version(1) | binding(12) | JSON(after) | HMAC-SHA256(secret, domain | preceding bytes)(16) )
 *
 * where binding = SHA-256(canonical JSON of [queryType, params]). The binding is inside the signed bytes, so a
 * token for other filters fails with a precise message and a forged one fails the MAC. Filters only: leave
 * `page_size` and `page_token` out of `params` (a client may change the page size between pages).
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { AppError, ConfigError } from "../../errors";
import { canonicalJson } from "../cache";

/** One value of a keyset (a column of the sort key). */
export type KeysetValue = string | number;

/** Issues and checks page tokens with one secret. */
export interface PageTokens {
  /**
   * The token for the page after the row whose sort key is `after`, valid only for `queryType` and `params`.
   * @throws TypeError when `after` is empty or holds something other than strings and finite numbers.
   */
  encode(queryType: string, params: Record<string, unknown>, after: readonly KeysetValue[]): string;
  /**
   * The keyset of a token issued by {@link PageTokens.encode} for the same query type and parameters (in any
   * key order). A -0 comes back as 0.
   * @throws AppError INVALID_ARGUMENT with a violation on `page_token` when the token is malformed, not
   * signed with this secret, or was issued for another query or other parameters.
   */
  decode(token: string, queryType: string, params: Record<string, unknown>): KeysetValue[];
}

const VERSION = 1;
const BINDING_BYTES = 12;
const MAC_BYTES = 16;
/** Longer tokens are refused before any decoding. */
const MAX_TOKEN_CHARS = 4096;
/** Separates these MACs from anything else signed with the same secret. */
const DOMAIN = Buffer.from("clone.v1/page-token\0");
const BASE64URL = /^[A-Za-z0-9_-]+$/;

const invalid = (description: string) => AppError.invalid([{ field: "page_token", description }]);

function binding(queryType: string, params: Record<string, unknown>): Buffer {
  return createHash("sha256")
    .update(canonicalJson([queryType, params]))
    .digest()
    .subarray(0, BINDING_BYTES);
}

/**
 * The bytes of a base64url text, if it is their one canonical spelling (Buffer's decoder skips bad characters
 * and ignores spare bits, so several texts would otherwise decode alike).
 */
function canonicalBytes(token: string): Buffer | undefined {
  if (token.length > MAX_TOKEN_CHARS || !BASE64URL.test(token)) return undefined;
  const bytes = Buffer.from(token, "base64url");
  return bytes.toString("base64url") === token ? bytes : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isKeyset(value: unknown): value is KeysetValue[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((v) => typeof v === "string" || (typeof v === "number" && Number.isFinite(v)))
  );
}

/**
 * Creates the page-token codec signing with `secret` (every gateway instance must use the same one).
 * @throws RangeError when the secret is shorter than 16 bytes.
 */
export function createPageTokens(secret: string | Uint8Array): PageTokens {
  const key = typeof secret === "string" ? Buffer.from(secret, "utf8") : Buffer.from(secret);
  if (key.length < 16) throw new ConfigError("the page token secret must be at least 16 bytes");
  const mac = (signed: Uint8Array) =>
    createHmac("sha256", key).update(DOMAIN).update(signed).digest().subarray(0, MAC_BYTES);

  return {
    encode(queryType, params, after) {
      if (!isKeyset(after)) throw new TypeError("a keyset is one or more strings and finite numbers");
      const signed = Buffer.concat([
        Buffer.of(VERSION),
        binding(queryType, params),
        Buffer.from(JSON.stringify(after)),
      ]);
      return Buffer.concat([signed, mac(signed)]).toString("base64url");
    },

    decode(token, queryType, params) {
      const bytes = canonicalBytes(token);
      if (!bytes || bytes.length < 1 + BINDING_BYTES + 2 + MAC_BYTES) {
        throw invalid("is not a valid page token");
      }
      const signed = bytes.subarray(0, bytes.length - MAC_BYTES);
      if (bytes[0] !== VERSION || !timingSafeEqual(mac(signed), bytes.subarray(signed.length))) {
        throw invalid("is not a valid page token");
      }
      if (!binding(queryType, params).equals(signed.subarray(1, 1 + BINDING_BYTES))) {
        throw invalid("was issued for a different query or different filters");
      }
      const after = parseJson(signed.subarray(1 + BINDING_BYTES).toString());
      if (!isKeyset(after)) throw invalid("is not a valid page token");
      return after;
    },
  };
}
