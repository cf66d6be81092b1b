/** State of the document aggregate: what a row of the documents table holds (without content and chunks). */
import type { Versioned } from "../decider";
import type { DocumentContentType } from "./commands";

/** Processing status of a document. */
export type DocumentStatus = "UPLOADED" | "PROCESSED" | "FAILED";

/** A document; `version` 0 means it does not exist (the other fields are then empty). */
export interface DocumentState extends Versioned {
  readonly documentId: string;
  readonly userId: string;
  readonly title: string;
  readonly contentType: DocumentContentType;
  readonly sizeBytes: number;
  readonly status: DocumentStatus;
  /** Deleted documents keep their row (so their id stays used) but reject every command with NOT_FOUND. */
  readonly deleted: boolean;
  readonly wordCount: number;
  readonly chunkCount: number;
  /** Set when processing failed. */
  readonly failureReason: string | null;
  readonly uploadedAt: string;
  /** When processing finished, either way. */
  readonly processedAt: string | null;
  readonly deletedAt: string | null;
}

/** The state of a document that was never uploaded. */
export const initialDocumentState: DocumentState = {
  version: 0,
  documentId: "",
  userId: "",
  title: "",
  contentType: "text/plain",
  sizeBytes: 0,
  status: "UPLOADED",
  deleted: false,
  wordCount: 0,
  chunkCount: 0,
  failureReason: null,
  uploadedAt: "",
  processedAt: null,
  deletedAt: null,
};
