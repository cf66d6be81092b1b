export type {
  DeleteDocument,
  DocumentCommand,
  DocumentContentType,
  DocumentRefs,
  RecordDocumentProcessing,
  ResolvedDocumentCommand,
  UploadDocument,
} from "./commands";
export { documentContentTypes } from "./commands";
export { documentDecider } from "./decider";
export type {
  DocumentDeleted,
  DocumentEvent,
  DocumentProcessed,
  DocumentProcessingFailed,
  DocumentUploaded,
} from "./events";
export { documentEventTypes } from "./events";
export type { DocumentState, DocumentStatus } from "./state";
export { initialDocumentState } from "./state";
