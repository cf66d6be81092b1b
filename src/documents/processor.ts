/**
 * The document processor: on `document.uploaded` it reads the document, extracts its text, splits it into
 * chunks and records the result through the command path as role `service` (RecordDocumentProcessing), like
 * any other caller. The command id is derived from the document id, so a redelivered event records nothing
 * twice; a document deleted meanwhile is skipped (NOT_FOUND / FAILED_PRECONDITION).
 */
import { buildEnvelope } from "../commands/build-envelope";
import type { CommandSender } from "../commands/envelope";
import type { EventSource, EventSubscription } from "../events";
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
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** The processing result of one document, as the command that records it. */
export function processDocument(contentType: string, content: Uint8Array, chunking: ChunkOptions) {
  const extraction = extractText(contentType, content);
  if (!extraction.ok) {
    return { succeeded: false, failureReason: extraction.reason, chunks: [] as string[], wordCount: 0 };
  }
  const { chunks, wordCount } = chunkText(extraction.text, chunking);
  return { succeeded: true, failureReason: "", chunks, wordCount };
}

/** Subscribes to `document.uploaded` as the durable consumer `document-processor`. */
export function startDocumentProcessor(options: DocumentProcessorOptions): Promise<EventSubscription> {
  const actor = { sub: "document-processor", role: "service" } as const;
  return options.events.subscribe(
    "document-processor",
    ["document.uploaded"],
    async (event) => {
      const res = await options.db.query<{ content_type: string; content: Buffer; status: string }>(
        "SELECT content_type, content, status FROM documents WHERE id = $1 AND deleted_at IS NULL",
        [event.aggregateId],
      );
      const doc = res.rows[0];
      if (doc?.status !== "UPLOADED") return;
      const result = processDocument(doc.content_type, new Uint8Array(doc.content), options.chunking);
      const { envelope } = buildEnvelope(
        { type: "RecordDocumentProcessing", documentId: event.aggregateId, ...result },
        { commandId: `document-processing:${event.aggregateId}`, actor },
      );
      const outcome = await options.sender.send(envelope);
      if (!outcome.ok && outcome.error.code !== "NOT_FOUND" && outcome.error.code !== "FAILED_PRECONDITION") {
        throw new Error(`recording the processing of ${event.aggregateId} failed: ${outcome.error.message}`);
      }
      options.log?.("document processed", {
        documentId: event.aggregateId,
        succeeded: result.succeeded,
        chunks: result.chunks.length,
      });
    },
    { concurrency: options.concurrency ?? 4 },
  );
}
