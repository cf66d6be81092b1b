import { describe, expect, test } from "bun:test";
import { DeciderSpecification, fixedNow } from "../decider-specification";
import type { UserRef } from "../refs";
import type { RecordDocumentProcessing, UploadDocument } from "./commands";
import { documentDecider } from "./decider";
import type { DocumentEvent } from "./events";

const documentId = "00000000-0000-4000-8000-0000000000d1";
const userId = "00000000-0000-4000-8000-000000000001";
const at = fixedNow.toISOString();
const earlier = "2030-01-01T00:00:00.000Z";
const spec = DeciderSpecification.for(documentDecider);

const upload = (
  user: UserRef = { exists: true, deleted: false },
): UploadDocument & { refs: { user: UserRef } } => ({
  type: "UploadDocument",
  documentId,
  userId,
  title: "Notes",
  contentType: "text/markdown",
  content: new TextEncoder().encode("# héllo"),
  refs: { user },
});
const processing = (succeeded: boolean): RecordDocumentProcessing => ({
  type: "RecordDocumentProcessing",
  documentId,
  succeeded,
  failureReason: succeeded ? "" : "invalid UTF-8",
  chunks: succeeded ? ["# héllo", "more"] : [],
  wordCount: succeeded ? 3 : 0,
});
const deleteDocument = { type: "DeleteDocument", documentId } as const;

const uploaded: DocumentEvent = {
  type: "document.uploaded",
  data: {
    documentId,
    userId,
    title: "Notes",
    contentType: "text/markdown",
    sizeBytes: 8,
    uploadedAt: earlier,
  },
};
const processed: DocumentEvent = {
  type: "document.processed",
  data: { documentId, userId, wordCount: 1, chunkCount: 1, processedAt: earlier },
};
const failed: DocumentEvent = {
  type: "document.processing_failed",
  data: { documentId, userId, failureReason: "bad", processedAt: earlier },
};
const deleted: DocumentEvent = { type: "document.deleted", data: { documentId, userId, deletedAt: earlier } };

describe("UploadDocument", () => {
  test("records the metadata, with the size in bytes", () => {
    spec
      .given([])
      .when(upload())
      .then([
        {
          type: "document.uploaded",
          data: {
            documentId,
            userId,
            title: "Notes",
            contentType: "text/markdown",
            sizeBytes: 8,
            uploadedAt: at,
          },
        },
      ]);
    spec
      .given([])
      .when(upload())
      .thenState((s) => expect(s).toMatchObject({ status: "UPLOADED", version: 1, sizeBytes: 8 }));
  });
  test("rejects a used id", () =>
    spec.given([uploaded]).when(upload()).thenFails("ALREADY_EXISTS", documentId));
  test("rejects the id of a deleted document", () =>
    spec.given([uploaded, deleted]).when(upload()).thenFails("ALREADY_EXISTS"));
  test("rejects a missing user", () =>
    spec
      .given([])
      .when(upload({ exists: false, deleted: false }))
      .thenFails("NOT_FOUND", userId));
  test("rejects a deleted user", () =>
    spec
      .given([])
      .when(upload({ exists: true, deleted: true }))
      .thenFails("NOT_FOUND", userId));
});

describe("RecordDocumentProcessing", () => {
  test("records success with the number of chunks", () => {
    spec
      .given([uploaded])
      .when(processing(true))
      .then([
        {
          type: "document.processed",
          data: { documentId, userId, wordCount: 3, chunkCount: 2, processedAt: at },
        },
      ]);
    spec
      .given([uploaded])
      .when(processing(true))
      .thenState((s) => expect(s).toMatchObject({ status: "PROCESSED", wordCount: 3, chunkCount: 2 }));
  });
  test("records failure", () => {
    spec
      .given([uploaded])
      .when(processing(false))
      .then([
        {
          type: "document.processing_failed",
          data: { documentId, userId, failureReason: "invalid UTF-8", processedAt: at },
        },
      ]);
    spec
      .given([uploaded])
      .when(processing(false))
      .thenState((s) => expect(s).toMatchObject({ status: "FAILED", failureReason: "invalid UTF-8" }));
  });
  test("rejects a missing document", () => spec.given([]).when(processing(true)).thenFails("NOT_FOUND"));
  test("rejects a deleted document", () =>
    spec.given([uploaded, deleted]).when(processing(true)).thenFails("NOT_FOUND"));
  test("rejects a PROCESSED document", () =>
    spec.given([uploaded, processed]).when(processing(true)).thenFails("FAILED_PRECONDITION", "PROCESSED"));
  test("rejects a FAILED document", () =>
    spec.given([uploaded, failed]).when(processing(false)).thenFails("FAILED_PRECONDITION", "FAILED"));
});

describe("DeleteDocument", () => {
  test("deletes the document", () =>
    spec
      .given([uploaded, processed])
      .when(deleteDocument)
      .then([{ type: "document.deleted", data: { documentId, userId, deletedAt: at } }]));
  test("rejects a missing document", () => spec.given([]).when(deleteDocument).thenFails("NOT_FOUND"));
  test("rejects a deleted document", () =>
    spec.given([uploaded, deleted]).when(deleteDocument).thenFails("NOT_FOUND", documentId));
});
