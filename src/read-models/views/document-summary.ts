/** document_summary_view: one row per document (ListDocuments, SearchDocuments). */
import { documentEventTypes } from "../../domain";
import { byUserId, defineView, keys, onEach, selectList, userScope } from "../view-definition";

/** A document's summary. */
export const documentSummaryView = defineView({
  name: "document_summary_view",
  keyColumn: "document_id",
  serves: "DocumentSummary",
  on: { ...onEach(documentEventTypes, keys("document_id", "documentId")), "user.deleted": byUserId },
  queries: { ListDocuments: userScope, SearchDocuments: userScope },
});

/** A `document_summary_view` row (message DocumentSummary). */
export interface DocumentSummaryRow {
  readonly document_id: string;
  readonly user_id: string;
  readonly title: string;
  readonly content_type: string;
  readonly status: "UPLOADED" | "PROCESSED" | "FAILED";
  readonly size_bytes: number;
  readonly word_count: number | null;
  readonly chunk_count: number | null;
  readonly failure_reason: string | null;
  readonly uploaded_at: Date;
  readonly processed_at: Date | null;
}

/** The columns of a `document_summary_view` row, as queries select them. */
export const documentSummaryColumns = selectList<DocumentSummaryRow>([
  "document_id",
  "user_id",
  "title",
  "content_type",
  "status",
  "size_bytes",
  "word_count",
  "chunk_count",
  "failure_reason",
  "uploaded_at",
  "processed_at",
]);
