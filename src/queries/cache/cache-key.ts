/**
 * Cache keys: the query type, then the canonical JSON of the parameters.
 *
 * The two parts are joined by U+001F (unit separator). JSON escapes every control character, so the canonical
 * JSON never holds one, and the query type is everything before the last separator whatever characters it has.
 * The cache reads the query type back from the key to apply invalidations scoped to one query type.
 */
import { canonicalJson } from "./canonical-json";

const SEPARATOR = "\u001f";

/**
 * The cache key of a query: its type and its parameters in canonical form (sorted keys, bigint-safe), so the
 * same request always gets the same key.
 * @throws TypeError when a parameter has no JSON form (see {@link canonicalJson}).
 */
export function cacheKey(queryType: string, params: Record<string, unknown>): string {
  return `${queryType}${SEPARATOR}${canonicalJson(params)}`;
}

/** The query type a key made by {@link cacheKey} was built for; undefined for any other string. */
export function queryTypeOfKey(key: string): string | undefined {
  const at = key.lastIndexOf(SEPARATOR);
  return at < 0 ? undefined : key.slice(0, at);
}
