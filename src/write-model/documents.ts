/** The `documents` and `document_chunks` tables. */
import type { DocumentCommand, DocumentEvent, DocumentState } from "../domain";
import { iso, isoRequired, type SqlClient, updateVersioned } from "./sql-client";

interface DocumentRow {
  id: string;
  user_id: string;
  title: string;
  content_type: DocumentState["contentType"];
  size_bytes: number;
  status: DocumentState["status"];
  word_count: number | null;
  chunk_count: number | null;
  failure_reason: string | null;
  uploaded_at: Date;
  processed_at: Date | null;
  deleted_at: Date | null;
  version: string;
}

/** The state of a document (undefined when it does not exist); the content is not loaded. */
export async function loadDocument(client: SqlClient, id: string): Promise<DocumentState | undefined> {
  const res = await client.query<DocumentRow>(
    `SELECT id, user_id, title, content_type, size_bytes, status, word_count, chunk_count, failure_reason,
            uploaded_at, processed_at, deleted_at, version
       FROM documents WHERE id = $1`,
    [id],
  );
  const row = res.rows[0];
  if (!row) return undefined;
  return {
    version: Number(row.version),
    documentId: row.id,
    userId: row.user_id,
    title: row.title,
    contentType: row.content_type,
    sizeBytes: row.size_bytes,
    status: row.status,
    deleted: row.deleted_at !== null,
    wordCount: row.word_count ?? 0,
    chunkCount: row.chunk_count ?? 0,
    failureReason: row.failure_reason,
    uploadedAt: isoRequired(row.uploaded_at),
    processedAt: iso(row.processed_at),
    deletedAt: iso(row.deleted_at),
  };
}

/** Counts the words of a text the way the document processor does (whitespace-separated tokens). */
function countWords(text: string): number {
  const trimmed = text.trim();
  return trimmed === "" ? 0 : trimmed.split(/\s+/u).length;
}

/**
 * Writes a document's new state. The upload's bytes and the processor's chunks come from the command (they
 * are too large for events).
 */
export async function saveDocument(
  client: SqlClient,
  before: DocumentState,
  after: DocumentState,
  events: readonly DocumentEvent[],
  command: DocumentCommand,
): Promise<void> {
  if (before.version === 0) {
    if (command.type !== "UploadDocument") throw new Error(`cannot create a document with ${command.type}`);
    await client.query(
      `INSERT INTO documents (id, user_id, title, content_type, content, size_bytes, status, uploaded_at,
                              updated_at, version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)`,
      [
        after.documentId,
        after.userId,
        after.title,
        after.contentType,
        Buffer.from(command.content.buffer, command.content.byteOffset, command.content.byteLength),
        after.sizeBytes,
        after.status,
        after.uploadedAt,
        after.version,
      ],
    );
    return;
  }
  const processed = after.status !== "UPLOADED";
  await updateVersioned(
    client,
    "document",
    after.documentId,
    `UPDATE documents
        SET status = $2, word_count = $3, chunk_count = $4, failure_reason = $5, processed_at = $6,
            deleted_at = $7, updated_at = GREATEST(updated_at, COALESCE($7, $6, updated_at)), version = $8
      WHERE id = $1 AND version = $9`,
    [
      after.documentId,
      after.status,
      after.status === "PROCESSED" ? after.wordCount : null,
      after.status === "PROCESSED" ? after.chunkCount : null,
      after.failureReason,
      processed ? after.processedAt : null,
      after.deletedAt,
      after.version,
      before.version,
    ],
  );
  for (const event of events) {
    if (event.type === "document.processed" && command.type === "RecordDocumentProcessing") {
      const chunks = command.chunks;
      if (chunks.length > 0) {
        await client.query(
          `INSERT INTO document_chunks (document_id, chunk_index, content, word_count)
           SELECT $1, i - 1, c, w FROM unnest($2::text[], $3::int[]) WITH ORDINALITY AS t(c, w, i)`,
          [after.documentId, chunks, chunks.map(countWords)],
        );
      }
    } else if (event.type === "document.deleted") {
      // A deleted document's knowledge must no longer be searchable.
      await client.query("DELETE FROM document_chunks WHERE document_id = $1", [after.documentId]);
    }
  }
}
