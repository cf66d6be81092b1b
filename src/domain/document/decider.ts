/**
 * Business rules of documents.
 *
 * - UploadDocument: an id that was ever used (even by a deleted document) is ALREADY_EXISTS; a missing or
 *   deleted user is NOT_FOUND; `sizeBytes` is the content's byte length.
 * - RecordDocumentProcessing: NOT_FOUND when missing or deleted; FAILED_PRECONDITION unless UPLOADED (a
 *   result is recorded once); `chunkCount` is the number of chunks.
 * - DeleteDocument: NOT_FOUND when missing or already deleted; allowed in every status.
 */
import type { AppError } from "../../errors";
import type { DecideContext, Decider } from "../decider";
import { isLiveUser } from "../refs";
import { alreadyExists, failedPrecondition, notFound } from "../rejections";
import type {
  DeleteDocument,
  DocumentRefs,
  RecordDocumentProcessing,
  ResolvedDocumentCommand,
  UploadDocument,
} from "./commands";
import type { DocumentEvent } from "./events";
import { type DocumentState, initialDocumentState } from "./state";

type Decision = readonly DocumentEvent[] | AppError;

function isLive(state: DocumentState): boolean {
  return state.version > 0 && !state.deleted;
}

function upload(
  command: UploadDocument & { readonly refs: DocumentRefs["UploadDocument"] },
  state: DocumentState,
  ctx: DecideContext,
): Decision {
  if (state.version > 0) return alreadyExists("document", command.documentId);
  if (!isLiveUser(command.refs.user)) return notFound("user", command.userId);
  const { documentId, userId, title, contentType } = command;
  const data = {
    documentId,
    userId,
    title,
    contentType,
    sizeBytes: command.content.byteLength,
    uploadedAt: ctx.now.toISOString(),
  };
  return [{ type: "document.uploaded", data }];
}

function recordProcessing(
  command: RecordDocumentProcessing,
  state: DocumentState,
  ctx: DecideContext,
): Decision {
  if (!isLive(state)) return notFound("document", command.documentId);
  if (state.status !== "UPLOADED") {
    return failedPrecondition(`document ${command.documentId} is already ${state.status}`);
  }
  const { documentId, userId } = state;
  const processedAt = ctx.now.toISOString();
  if (!command.succeeded) {
    return [
      {
        type: "document.processing_failed",
        data: { documentId, userId, failureReason: command.failureReason, processedAt },
      },
    ];
  }
  const data = {
    documentId,
    userId,
    wordCount: command.wordCount,
    chunkCount: command.chunks.length,
    processedAt,
  };
  return [{ type: "document.processed", data }];
}

function deleteDocument(command: DeleteDocument, state: DocumentState, ctx: DecideContext): Decision {
  if (!isLive(state)) return notFound("document", command.documentId);
  const data = { documentId: state.documentId, userId: state.userId, deletedAt: ctx.now.toISOString() };
  return [{ type: "document.deleted", data }];
}

function evolve(state: DocumentState, event: DocumentEvent): DocumentState {
  const version = state.version + 1;
  switch (event.type) {
    case "document.uploaded": {
      const { documentId, userId, title, contentType, sizeBytes, uploadedAt } = event.data;
      return {
        ...initialDocumentState,
        version,
        documentId,
        userId,
        title,
        contentType,
        sizeBytes,
        uploadedAt,
      };
    }
    case "document.processed": {
      const { wordCount, chunkCount, processedAt } = event.data;
      return { ...state, version, status: "PROCESSED", wordCount, chunkCount, processedAt };
    }
    case "document.processing_failed": {
      const { failureReason, processedAt } = event.data;
      return { ...state, version, status: "FAILED", failureReason, processedAt };
    }
    case "document.deleted":
      return { ...state, version, deleted: true, deletedAt: event.data.deletedAt };
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

/** The document decider. */
export const documentDecider: Decider<ResolvedDocumentCommand, DocumentEvent, DocumentState> = {
  initialState: () => initialDocumentState,
  decide(command, state, ctx) {
    switch (command.type) {
      case "UploadDocument":
        return upload(command, state, ctx);
      case "RecordDocumentProcessing":
        return recordProcessing(command, state, ctx);
      case "DeleteDocument":
        return deleteDocument(command, state, ctx);
      default: {
        const _exhaustive: never = command;
        return _exhaustive;
      }
    }
  },
  evolve,
};
