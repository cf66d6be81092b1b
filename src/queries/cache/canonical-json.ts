/**
 * Canonical JSON: one text per value, whatever the order its object keys were written in.
 *
 * Cache keys and page-token bindings hash request parameters, so two requests that mean the same thing must
 * give the same text, and two that differ must not. Objects are written with sorted keys; bigints as their
 * decimal digits (a JSON number, so `5n` and `5` are the same key: they are the same value); byte arrays as
 * base64url strings; `undefined` object properties are left out, as `JSON.stringify` does. Values that have no
 * faithful JSON form (NaN, Infinity, functions, symbols, cycles) throw instead of colliding with `null`.
 */

/**
 * The canonical JSON text of `value`.
 * @throws TypeError for NaN or infinite numbers, functions, symbols and cyclic structures.
 */
export function canonicalJson(value: unknown): string {
  return write(value, new Set());
}

function write(value: unknown, path: Set<object>): string {
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} has no JSON form`);
      return JSON.stringify(value);
    case "bigint":
      return value.toString();
    case "undefined":
      return "null";
    case "object":
      return value === null ? "null" : writeObject(value, path);
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form`);
  }
}

function writeObject(value: object, path: Set<object>): string {
  if (path.has(value)) throw new TypeError("canonicalJson: cyclic structure");
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString("base64url"));
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  path.add(value);
  try {
    if (Array.isArray(value)) return `[${value.map((v) => write(v, path)).join(",")}]`;
    const record = value as Record<string, unknown>;
    const fields: string[] = [];
    for (const key of Object.keys(record).sort()) {
      const v = record[key];
      if (v !== undefined) fields.push(`${JSON.stringify(key)}:${write(v, path)}`);
    }
    return `{${fields.join(",")}}`;
  } finally {
    path.delete(value);
  }
}
