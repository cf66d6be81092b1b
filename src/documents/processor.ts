/**
 * The document processor: on `document.uploaded` it reads the document, extracts its text, splits it into
 * chunks and records the result through the command path as role `service` (RecordDocumentProcessing), like
 * any other caller. The chunks go by claim check (`command_blobs`, stored here under the command id before
 * the command is sent), so a document of the API's 2 MiB limit never puts a message over NATS' limit. The
 * command id is derived from the document id, so a redelivered event records nothing twice; a document
 * deleted meanwhile is skipped (NOT_FOUND / FAILED_PRECONDITION).
 *
 * Failures: a document that cannot be read is recorded as FAILED with the reason; a result the command path
 * refuses for good (INVALID_ARGUMENT, INTERNAL, ...) is recorded as FAILED with that reason instead. What
 * still fails is thrown and classified by the event source: retried with backoff in its own lane when
 * transient, dead-lettered (`dead_letters`, source `document-processor`) when deterministic or repeated.
 */

import { buildEnvelope } from "../commands/build-envelope";
import type { CommandOutcome, CommandSender } from "../contracts";
import { isDeadLettered } from "../contracts";
import { storableText } from "../dead-letters";
import { AppError } from "../errors";
import { type EventSource, type EventSubscription, startDeadLetteringConsumer } from "../events";
import type { Logger } from "../logging";
import type { PublishedEvent } from "../outbox";
import type { SqlClient } from "../write-model";
import { type ChunkOptions, chunkText } from "./chunk-text";
import { extractText } from "./extract-text";

/** Options of {@link startDocumentProcessor}. */
export interface DocumentProcessorOptions {
  readonly events: EventSource;
  readonly sender: CommandSender;
  readonly db: SqlClient;
  readonly chunking: ChunkOptions;
  /** Documents processed at once. */
  readonly concurrency?: number;
  /** How often dead letters an operator asked to retry are looked for, ms (default 1000). */
  readonly retryPollMs?: number;
  readonly log?: Logger;
}

/** The longest failure reason recorded on a document. */
const MAX_REASON = 500;
/** The most a processing result's chunks may take in `command_blobs` (sql/0016). */
const MAX_CHUNK_BYTES = 32 * 1024 * 1024;

/** The processing result of one document, as the command that records it. */
export function processDocument(contentType: string, content: Uint8Array, chunking: ChunkOptions) {
  const extraction = extractText(contentType, content);
  if (!extraction.ok) return failedResult(extraction.reason);
  const { chunks, wordCount } = chunkText(extraction.text, chunking);
  const bytes = chunks.reduce((n, c) => n + 4 + Buffer.byteLength(c), 0);
  if (bytes > MAX_CHUNK_BYTES) {
    return failedResult(
      `the document's chunks are too large to store (${bytes} bytes, at most ${MAX_CHUNK_BYTES})`,
    );
  }
  return { succeeded: true, failureReason: "", chunks, wordCount };
}

function failedResult(reason: string) {
  return {
    succeeded: false,
    failureReason: storableText(reason).slice(0, MAX_REASON),
    chunks: [] as string[],
    wordCount: 0,
  };
}

/** The name of the processor's durable consumer, and its consumer name in `dead_letters`. */
export const DOCUMENT_PROCESSOR = "document-processor";

/** A running processor. */
export interface DocumentProcessor extends EventSubscription {}

/** Subscribes to `document.uploaded` as the durable consumer `document-processor`. */
export async function startDocumentProcessor(options: DocumentProcessorOptions): Promise<DocumentProcessor> {
  const actor = { sub: DOCUMENT_PROCESSOR, role: "service" } as const;
  const { db } = options;

  /** Sends one processing result, its chunks stored by claim check first. */
  async function record(documentId: string, commandId: string, result: ReturnType<typeof processDocument>) {
    const { envelope, blob } = buildEnvelope(
      { type: "RecordDocumentProcessing", documentId, ...result },
      { commandId, actor },
    );
    if (blob) {
      await db.query(
        `INSERT INTO command_blobs (command_id, content) VALUES ($1, $2)
         ON CONFLICT (command_id) DO UPDATE SET content = EXCLUDED.content`,
        [commandId, Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength)],
      );
    }
    const outcome = await options.sender.send(envelope);
    // A result recorded before (a redelivered event) is answered without claiming the chunks just stored.
    if (blob && outcome.ok && outcome.result.duplicate) {
      await db.query("DELETE FROM command_blobs WHERE command_id = $1", [commandId]);
    }
    return outcome;
  }

  async function handle(event: PublishedEvent): Promise<void> {
    const documentId = event.aggregateId;
    const res = await db.query<{ content_type: string; content: Buffer; status: string }>(
      "SELECT content_type, content, status FROM documents WHERE id = $1 AND deleted_at IS NULL",
      [documentId],
    );
    const doc = res.rows[0];
    if (doc?.status !== "UPLOADED") return;
    const result = processDocument(doc.content_type, new Uint8Array(doc.content), options.chunking);
    let outcome = await record(documentId, `document-processing:${documentId}`, result);
    if (!outcome.ok && result.succeeded && isRefusedForGood(outcome)) {
      // The result itself cannot be stored: the document fails, with why, instead of coming back for ever.
      options.log?.warn(
        {
          documentId,
          code: outcome.error.code,
          error: outcome.error.message,
        },
        "recording the processing result failed; recording a failure",
      );
      const reason = `the processing result could not be stored: ${outcome.error.message}`;
      outcome = await record(documentId, `document-processing-failed:${documentId}`, failedResult(reason));
    }
    // NOT_FOUND / FAILED_PRECONDITION: deleted meanwhile, or recorded before (unless it was dead-lettered).
    const skipped = !outcome.ok && ["NOT_FOUND", "FAILED_PRECONDITION"].includes(outcome.error.code);
    if (!outcome.ok && (!skipped || isDeadLettered(outcome.error))) throw AppError.deserialize(outcome.error);
    options.log?.debug(
      {
        documentId,
        succeeded: result.succeeded,
        chunks: result.chunks.length,
      },
      "document processed",
    );
  }

  return startDeadLetteringConsumer({
    events: options.events,
    db,
    consumers: [{ name: DOCUMENT_PROCESSOR, types: ["document.uploaded"] }],
    source: "document-processor",
    handle,
    concurrency: options.concurrency ?? 4,
    ...(options.retryPollMs === undefined ? {} : { retryPollMs: options.retryPollMs }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
}

/** An answer that will not change on another attempt (not UNAVAILABLE, DEADLINE_EXCEEDED, ...). */
function isRefusedForGood(outcome: Extract<CommandOutcome, { ok: false }>): boolean {
  return (
    isDeadLettered(outcome.error) ||
    ["INVALID_ARGUMENT", "INTERNAL", "UNKNOWN", "OUT_OF_RANGE", "DATA_LOSS"].includes(outcome.error.code)
  );
}
