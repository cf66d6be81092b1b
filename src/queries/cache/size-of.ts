/**
 * The default size estimate of a cached value: about the length of its JSON text.
 *
 * It walks the value instead of calling `JSON.stringify`, so bigints (protobuf int64 fields) do not throw and
 * byte arrays count their bytes rather than the far longer `{"0":1,...}` text. A value met again inside itself
 * counts once. It is an estimate for bounding memory, not an exact measure.
 */

/** Estimated size, in bytes, of `value`. */
export function estimateSize(value: unknown): number {
  return measure(value, new Set());
}

function measure(value: unknown, path: Set<object>): number {
  switch (typeof value) {
    case "string":
      return value.length + 2;
    case "number":
    case "bigint":
      return String(value).length;
    case "boolean":
      return value ? 4 : 5;
    case "object":
      return value === null ? 4 : measureObject(value, path);
    default:
      return 4;
  }
}

function measureObject(value: object, path: Set<object>): number {
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value instanceof ArrayBuffer) return value.byteLength;
  if (value instanceof Date) return 26;
  if (path.has(value)) return 0;
  path.add(value);
  try {
    // Brackets, plus a comma after every item; the last item has none.
    let size = 1;
    if (Array.isArray(value) || value instanceof Set) {
      for (const v of value) size += measure(v, path) + 1;
    } else if (value instanceof Map) {
      for (const [k, v] of value) size += measure(k, path) + measure(v, path) + 2;
    } else {
      for (const [k, v] of Object.entries(value)) {
        if (v !== undefined) size += k.length + 3 + measure(v, path) + 1;
      }
    }
    return Math.max(size, 2);
  } finally {
    path.delete(value);
  }
}
