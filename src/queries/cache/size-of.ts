/**
 * The default size estimate of a cached value: about the length of its JSON text.
 *
 * It walks the value instead of calling `JSON.stringify`, so bigints (protobuf int64 fields) do not throw and
 * byte arrays count their bytes rather than the far longer `{"0":1,...}` text. A value met again inside itself
 * counts once. It is an estimate for bounding memory, not an exact measure.
 *
 * It runs on every answer the cache stores, on the read's path: every uncached read pays it. So it walks
 * objects with `for...in` (no array of entries per object), keeps the objects being walked in one array (no
 * set per call) and counts an integer's digits without making its text: measured in a gateway serving
 * uncached GetUserProfile, the walk with `Object.entries` and a `Set` took 25-60 µs an answer, about a tenth
 * of the gateway's CPU per read.
 */

/** Estimated size, in bytes, of `value`. */
export function estimateSize(value: unknown): number {
  return measure(value, []);
}

function measure(value: unknown, walking: object[]): number {
  switch (typeof value) {
    case "string":
      return value.length + 2;
    case "number":
      return Number.isSafeInteger(value) ? digits(value) : String(value).length;
    case "bigint":
      return String(value).length;
    case "boolean":
      return value ? 4 : 5;
    case "object":
      return value === null ? 4 : measureObject(value, walking);
    default:
      return 4;
  }
}

/** The length of `String(n)` for a safe integer. */
function digits(n: number): number {
  let count = n < 0 ? 2 : 1;
  for (let rest = Math.abs(n); rest >= 10; rest = Math.floor(rest / 10)) count++;
  return count;
}

function measureObject(value: object, walking: object[]): number {
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value instanceof ArrayBuffer) return value.byteLength;
  if (value instanceof Date) return 26;
  if (walking.includes(value)) return 0;
  walking.push(value);
  try {
    // Brackets, plus a comma after every item; the last item has none.
    let size = 1;
    if (Array.isArray(value)) {
      for (const v of value) size += measure(v, walking) + 1;
    } else if (value instanceof Set) {
      for (const v of value) size += measure(v, walking) + 1;
    } else if (value instanceof Map) {
      for (const [k, v] of value) size += measure(k, walking) + measure(v, walking) + 2;
    } else {
      const record = value as Record<string, unknown>;
      for (const k in record) {
        if (!Object.hasOwn(record, k)) continue;
        const v = record[k];
        if (v !== undefined) size += k.length + 3 + measure(v, walking) + 1;
      }
    }
    return Math.max(size, 2);
  } finally {
    walking.pop();
  }
}
