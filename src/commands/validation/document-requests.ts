/** Requests of the document commands: UploadDocument, RecordDocumentProcessing (internal), DeleteDocument. */
import type { RefinementCtx } from "zod";
import { z } from "zod";
import type { DocumentContentType } from "../../domain";
import {
  codePoints,
  content,
  contentType,
  failureReason,
  label,
  optionalUuid,
  stringList,
  uint32,
  uuid,
} from "./fields";
import { maxFailureReasonLength, maxTitleLength } from "./limits";
import { always, defineRequest, idOrNew, requestSchema } from "./request";

/** `UploadDocumentRequest`: `document_id` may be empty (generated). */
export const uploadDocumentRequestSchema = requestSchema({
  documentId: optionalUuid,
  userId: uuid,
  title: label(maxTitleLength),
  contentType,
  content,
});

interface ProcessingResult {
  readonly succeeded: boolean;
  readonly failureReason: string;
}

/** `failure_reason` is required when processing failed (runs even when other fields are malformed). */
function processingResultRules(request: ProcessingResult, ctx: RefinementCtx<ProcessingResult>): void {
  const { succeeded, failureReason: reason } = request;
  if (
    succeeded === false &&
    typeof reason === "string" &&
    reason.trim() === "" &&
    codePoints(reason) <= maxFailureReasonLength
  ) {
    ctx.addIssue({ code: "custom", path: ["failureReason"], message: "is required when processing failed" });
  }
}

/**
 * `RecordDocumentProcessingRequest` (internal, from the document processor): the outcome, and on success
 * the chunks and word count.
 */
export const recordDocumentProcessingRequestSchema = requestSchema({
  documentId: uuid,
  succeeded: z.boolean(),
  failureReason,
  chunks: stringList,
  wordCount: uint32,
}).superRefine(processingResultRules, always);

/** `DeleteDocumentRequest`. */
export const deleteDocumentRequestSchema = requestSchema({ documentId: uuid });

/** UploadDocument: a missing id is generated; the title is trimmed; the content is passed on as is. */
export const uploadDocumentRequest = defineRequest(
  "UploadDocument",
  uploadDocumentRequestSchema,
  (r, newId) => ({
    documentId: idOrNew(r.documentId, newId),
    userId: r.userId.toLowerCase(),
    title: r.title.trim(),
    // Checked against the list by the schema.
    contentType: r.contentType as DocumentContentType,
    content: r.content,
  }),
);

/** RecordDocumentProcessing: only the fields of the outcome that matter are kept. */
export const recordDocumentProcessingRequest = defineRequest(
  "RecordDocumentProcessing",
  recordDocumentProcessingRequestSchema,
  (r) => ({
    documentId: r.documentId.toLowerCase(),
    succeeded: r.succeeded,
    failureReason: r.succeeded ? "" : r.failureReason,
    chunks: r.succeeded ? r.chunks : [],
    wordCount: r.succeeded ? r.wordCount : 0,
  }),
);

/** DeleteDocument. */
export const deleteDocumentRequest = defineRequest("DeleteDocument", deleteDocumentRequestSchema, (r) => ({
  documentId: r.documentId.toLowerCase(),
}));
