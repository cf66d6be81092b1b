/** The `documents` and `document_chunks` tables. */

import type { AggregateStore, Row } from "../../db/aggregate-store";
import { insertState, updateState } from "../../db/aggregate-store";
import { iso, isoRequired } from "../../db/sql-client";
import type { DocumentCommand } from "./commands";
import type { DocumentEvent } from "./events";
import type { DocumentState } from "./state";

/** Counts the words of a text the way the document processor does (whitespace-separated tokens). */
function countWords(text: string): number {
  const trimmed = text.trim();
  return trimmed === "" ? 0 : trimmed.split(/\s+/u).length;
}

/**
 * Reads and writes documents (the content is not loaded). The upload's bytes and the processor's chunks come
 * from the command: they are too large for events.
 */
export const documentStore: AggregateStore<DocumentState, DocumentEvent, DocumentCommand> = {
  table: "documents",
  columns:
    "a.id, a.user_id, a.title, a.content_type, a.size_bytes, a.status, a.word_count, a.chunk_count, a.failure_reason, a.uploaded_at, a.processed_at, a.deleted_at, a.version",
  fromRow(row: Row): DocumentState {
    return {
      version: Number(row.version),
      documentId: row.id as string,
      userId: row.user_id as string,
      title: row.title as string,
      contentType: row.content_type as DocumentState["contentType"],
      sizeBytes: row.size_bytes as number,
      status: row.status as DocumentState["status"],
      deleted: row.deleted_at !== null,
      wordCount: (row.word_count as number | null) ?? 0,
      chunkCount: (row.chunk_count as number | null) ?? 0,
      failureReason: row.failure_reason as string | null,
      uploadedAt: isoRequired(row.uploaded_at as Date),
      processedAt: iso(row.processed_at as Date | null),
      deletedAt: iso(row.deleted_at as Date | null),
    };
  },
  save(b, before, after, events, command) {
    if (before.version === 0) {
      if (command.type !== "UploadDocument") throw new Error(`cannot create a document with ${command.type}`);
      const content = command.content;
      insertState(b, "documents", {
        id: [after.documentId, "uuid"],
        user_id: [after.userId, "uuid"],
        title: [after.title, "text"],
        content_type: [after.contentType, "text"],
        content: [Buffer.from(content.buffer, content.byteOffset, content.byteLength), "bytea"],
        size_bytes: [after.sizeBytes, "int"],
        status: [after.status, "text"],
        uploaded_at: [after.uploadedAt, "timestamptz"],
        updated_at: [after.uploadedAt, "timestamptz"],
        version: [after.version, "bigint"],
      });
      return;
    }
    const processed = after.status !== "UPLOADED";
    const deletedAt = b.param(after.deletedAt, "timestamptz");
    const processedAt = b.param(processed ? after.processedAt : null, "timestamptz");
    updateState(
      b,
      "documents",
      `status = ${b.param(after.status, "text")},
       word_count = ${b.param(after.status === "PROCESSED" ? after.wordCount : null, "int")},
       chunk_count = ${b.param(after.status === "PROCESSED" ? after.chunkCount : null, "int")},
       failure_reason = ${b.param(after.failureReason, "text")}, processed_at = ${processedAt},
       deleted_at = ${deletedAt}, updated_at = GREATEST(updated_at, COALESCE(${deletedAt}, ${processedAt}, updated_at)),
       version = ${b.param(after.version, "bigint")}`,
      after.documentId,
      before.version,
    );
    for (const event of events) {
      if (event.type === "document.processed" && command.type === "RecordDocumentProcessing") {
        const chunks = command.chunks;
        if (chunks.length > 0) {
          b.cte(
            "chunks",
            `INSERT INTO document_chunks (document_id, chunk_index, content, word_count)
             SELECT ${b.param(after.documentId, "uuid")}, i - 1, c, w
               FROM unnest(${b.param(chunks, "text[]")}, ${b.param(chunks.map(countWords), "int[]")}) WITH ORDINALITY AS t(c, w, i)`,
          );
        }
      } else if (event.type === "document.deleted") {
        // A deleted document's knowledge must no longer be searchable.
        b.cte(
          "chunks",
          `DELETE FROM document_chunks WHERE document_id = ${b.param(after.documentId, "uuid")}`,
        );
      }
    }
  },
};
