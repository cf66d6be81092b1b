/** Events of the document aggregate. */
import type { Event } from "../decider";
import type { DocumentContentType } from "./commands";

/** A document was uploaded (metadata only; the content is stored apart). */
export type DocumentUploaded = Event<
  "document.uploaded",
  {
    readonly documentId: string;
    readonly userId: string;
    readonly title: string;
    readonly contentType: DocumentContentType;
    readonly sizeBytes: number;
    readonly uploadedAt: string;
  }
>;

/** Processing succeeded (status PROCESSED); the chunks are stored apart. */
export type DocumentProcessed = Event<
  "document.processed",
  {
    readonly documentId: string;
    readonly userId: string;
    readonly wordCount: number;
    readonly chunkCount: number;
    readonly processedAt: string;
  }
>;

/** Processing failed (status FAILED). */
export type DocumentProcessingFailed = Event<
  "document.processing_failed",
  {
    readonly documentId: string;
    readonly userId: string;
    readonly failureReason: string;
    readonly processedAt: string;
  }
>;

/** The document was deleted. */
export type DocumentDeleted = Event<
  "document.deleted",
  { readonly documentId: string; readonly userId: string; readonly deletedAt: string }
>;

/** Any event of the document aggregate. */
export type DocumentEvent = DocumentUploaded | DocumentProcessed | DocumentProcessingFailed | DocumentDeleted;

/** The document event types, in the order of API.md. */
export const documentEventTypes = [
  "document.uploaded",
  "document.processed",
  "document.processing_failed",
  "document.deleted",
] as const satisfies readonly DocumentEvent["type"][];
