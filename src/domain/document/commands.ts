/** Commands of the document aggregate; `type` is the RPC name. Ids are already resolved by the gateway. */
import type { WithRefs } from "../decider";
import type { UserRef } from "../refs";

/** The content types a document may have. */
export const documentContentTypes = ["text/plain", "text/markdown", "application/json"] as const;

/** A content type a document may have. */
export type DocumentContentType = (typeof documentContentTypes)[number];

/**
 * Uploads a document (status UPLOADED; processed asynchronously). The handler persists `content` itself:
 * the event carries only metadata.
 */
export interface UploadDocument {
  readonly type: "UploadDocument";
  readonly documentId: string;
  readonly userId: string;
  readonly title: string;
  readonly contentType: DocumentContentType;
  readonly content: Uint8Array;
}

/**
 * Records the outcome of processing (internal: sent by the document processor with role service). On
 * success the handler persists `chunks`; the event carries only their count.
 */
export interface RecordDocumentProcessing {
  readonly type: "RecordDocumentProcessing";
  readonly documentId: string;
  readonly succeeded: boolean;
  /** Why processing failed (e.g. invalid UTF-8 or invalid JSON); meaningful only when not `succeeded`. */
  readonly failureReason: string;
  /** The text split for retrieval, in order; meaningful only when `succeeded`. */
  readonly chunks: readonly string[];
  readonly wordCount: number;
}

/** Deletes a document; later commands on it are NOT_FOUND. */
export interface DeleteDocument {
  readonly type: "DeleteDocument";
  readonly documentId: string;
}

/** Any command of the document aggregate. */
export type DocumentCommand = UploadDocument | RecordDocumentProcessing | DeleteDocument;

/** Refs per command type: an upload needs the user it names. */
export interface DocumentRefs {
  readonly UploadDocument: { readonly user: UserRef };
}

/** A document command with its refs, as `decide` takes it. */
export type ResolvedDocumentCommand = WithRefs<DocumentCommand, DocumentRefs>;
