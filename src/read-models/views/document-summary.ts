/** document_summary_view: one row per document (ListDocuments, SearchDocuments). */
import { documentEventTypes } from "../../domain";
import { byUserId, defineView, keys, onEach, userScope } from "../view-definition";

/** A document's summary. */
export const documentSummaryView = defineView({
  name: "document_summary_view",
  keyColumn: "document_id",
  serves: "DocumentSummary",
  on: { ...onEach(documentEventTypes, keys("document_id", "documentId")), "user.deleted": byUserId },
  queries: { ListDocuments: userScope, SearchDocuments: userScope },
});
