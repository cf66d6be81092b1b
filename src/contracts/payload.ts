/**
 * The command payload on the wire, its hash, and the ids the server makes for it.
 *
 * Binary document content is taken out of the payload (claim check): the gateway stores it in
 * `command_blobs` under the command id and the worker puts it back. The payload hash covers the content
 * through its SHA-256, so a retry with other bytes is still told apart.
 */
import type { DomainCommand } from "../domain";

/** A command as it travels: JSON-safe, without binary content. */
export type WirePayload = Record<string, unknown> & { readonly type: string };

/**
 * Splits a command into its wire payload and the binary content that goes by claim check, if any: an upload's
 * bytes, and a processing result's chunks (together they outgrow the upload, and NATS' message limit).
 */
export function toWire(command: DomainCommand): { payload: WirePayload; blob: Uint8Array | undefined } {
  if (command.type === "UploadDocument") {
    const { content, ...rest } = command;
    return {
      payload: { ...rest, contentSha256: sha256(content), contentRef: "command_blobs" },
      blob: content,
    };
  }
  if (command.type === "RecordDocumentProcessing" && command.chunks.length > 0) {
    const { chunks, ...rest } = command;
    const blob = encodeChunks(chunks);
    return {
      payload: {
        ...rest,
        chunkCount: chunks.length,
        contentSha256: sha256(blob),
        contentRef: "command_blobs",
      },
      blob,
    };
  }
  return { payload: { ...command }, blob: undefined };
}

/** Rebuilds the domain command from its wire payload and the claimed content. */
export function fromWire(payload: WirePayload, blob: Uint8Array | undefined): DomainCommand {
  if (payload.type === "UploadDocument") {
    const { contentSha256: _hash, contentRef: _ref, ...rest } = payload;
    return { ...rest, content: blob ?? new Uint8Array() } as unknown as DomainCommand;
  }
  if (payload.type === "RecordDocumentProcessing" && payload.contentRef === "command_blobs") {
    const { contentSha256: _hash, contentRef: _ref, chunkCount: _count, ...rest } = payload;
    return { ...rest, chunks: decodeChunks(blob ?? new Uint8Array()) } as unknown as DomainCommand;
  }
  return payload as unknown as DomainCommand;
}

/** Chunks as one blob: each chunk's UTF-8 byte length (uint32, big-endian), then its bytes. */
export function encodeChunks(chunks: readonly string[]): Uint8Array {
  const encoded = chunks.map((c) => new TextEncoder().encode(c));
  const out = new Uint8Array(encoded.reduce((n, c) => n + 4 + c.byteLength, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const c of encoded) {
    view.setUint32(at, c.byteLength);
    out.set(c, at + 4);
    at += 4 + c.byteLength;
  }
  return out;
}

/** The chunks of a blob made by {@link encodeChunks}; throws RangeError on a blob that is not one. */
export function decodeChunks(blob: Uint8Array): string[] {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const chunks: string[] = [];
  for (let at = 0; at < blob.byteLength; ) {
    const length = view.getUint32(at);
    if (at + 4 + length > blob.byteLength) throw new RangeError("truncated chunk blob");
    chunks.push(decoder.decode(blob.subarray(at + 4, at + 4 + length)));
    at += 4 + length;
  }
  return chunks;
}

/**
 * SHA-256 (hex) of canonical JSON of the payload and expected version: the identity of a command's intent.
 * The version is hashed as a JSON number when it is one exactly (as stored hashes have it), else as text.
 */
export function payloadHash(payload: WirePayload, expectedVersion: bigint | number | undefined): string {
  let version: number | string | null = null;
  if (expectedVersion !== undefined) {
    const n = Number(expectedVersion);
    version = Number.isSafeInteger(n) ? n : expectedVersion.toString();
  }
  return sha256(canonicalJson({ payload, expectedVersion: version }));
}

/** SHA-256 (hex) of bytes, or of a string's UTF-8 encoding. */
function sha256(data: Uint8Array | string): string {
  return Bun.SHA256.hash(data, "hex");
}

/**
 * JSON with object keys sorted, so equal values always give equal text. Stored hashes depend on it, so its
 * output must never change: it is exactly `JSON.stringify` with a replacer that copies every object with its
 * keys sorted ({@link canonicalJsonReference}). This makes the same copies up front and stringifies them in one
 * native call (about twice as fast as the replacer, or as quoting each key and string apart); values whose
 * copy could differ from the replacer's (`toJSON`, class instances, boxed primitives) go to the reference.
 */
export function canonicalJson(value: unknown): string {
  const copy = sortedCopy(value);
  return copy === unsupported ? canonicalJsonReference(value) : JSON.stringify(copy);
}

/** The definition of {@link canonicalJson}, used for values the fast path does not take. */
export function canonicalJsonReference(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

const unsupported = Symbol("unsupported");

/**
 * What the reference's replacer makes of a value, copied before stringifying: plain objects with their keys
 * assigned in sorted order (as the replacer does, `__proto__` included), plain arrays element by element, and
 * everything else as it is (JSON.stringify then treats it as it would); `unsupported` for the rest.
 */
function sortedCopy(v: unknown): unknown {
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype || "toJSON" in v) return unsupported;
    const items: unknown[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const item = sortedCopy(v[i]);
      if (item === unsupported) return unsupported;
      items[i] = item;
    }
    return items;
  }
  const proto = Object.getPrototypeOf(v);
  if ((proto !== Object.prototype && proto !== null) || "toJSON" in v) return unsupported;
  const record = v as Record<string, unknown>;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(record).sort()) {
    const item = sortedCopy(record[key]);
    if (item === unsupported) return unsupported;
    sorted[key] = item;
  }
  return sorted;
}

/**
 * An id generator for one command: ids derived from the command id, so that a retry of a command whose
 * optional ids were left empty gets the same ids (and the same payload hash) again.
 */
export function idsFromCommandId(commandId: string): () => string {
  let n = 0;
  return () => uuidFrom(`${commandId}#${n++}`);
}

/** A UUID (version 8, name-based on SHA-256) for a name. */
export function uuidFrom(name: string): string {
  const digest = Bun.SHA256.hash(name);
  const h = Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength);
  h[6] = ((h[6] as number) & 0x0f) | 0x80;
  h[8] = ((h[8] as number) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
