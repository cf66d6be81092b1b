/**
 * The command payload on the wire, its hash, and the ids the server makes for it.
 *
 * Binary document content is taken out of the payload (claim check): the gateway stores it in
 * `command_blobs` under the command id and the worker puts it back. The payload hash covers the content
 * through its SHA-256, so a retry with other bytes is still told apart.
 */
import { createHash } from "node:crypto";
import type { DomainCommand } from "../domain";

/** A command as it travels: JSON-safe, without binary content. */
export type WirePayload = Record<string, unknown> & { readonly type: string };

/** Splits a command into its wire payload and the binary content that goes by claim check, if any. */
export function toWire(command: DomainCommand): { payload: WirePayload; blob: Uint8Array | undefined } {
  if (command.type === "UploadDocument") {
    const { content, ...rest } = command;
    return {
      payload: { ...rest, contentSha256: sha256(content), contentRef: "command_blobs" },
      blob: content,
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
  return payload as unknown as DomainCommand;
}

/** SHA-256 (hex) of canonical JSON of the payload and expected version: the identity of a command's intent. */
export function payloadHash(payload: WirePayload, expectedVersion: number | undefined): string {
  return sha256(
    new TextEncoder().encode(canonicalJson({ payload, expectedVersion: expectedVersion ?? null })),
  );
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** JSON with object keys sorted, so equal values always give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
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
  const h = createHash("sha256").update(name).digest();
  h[6] = ((h[6] as number) & 0x0f) | 0x80;
  h[8] = ((h[8] as number) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
