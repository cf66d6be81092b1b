/** The document aggregate's definition (see domain/definition.ts); its tables are `persistence.ts`'s. */
import { defineAggregate } from "../definition";
import type { DocumentCommand } from "./commands";
import { documentDecider } from "./decider";
import { documentEventTypes } from "./events";

/** Documents: uploaded by their user; processing results are for services. */
export const documentAggregate = defineAggregate({
  type: "document",
  decider: documentDecider,
  commandTypes: ["UploadDocument", "RecordDocumentProcessing", "DeleteDocument"],
  eventTypes: documentEventTypes,
  target: (command: DocumentCommand) => command.documentId,
  access: { privileged: ["RecordDocumentProcessing"], creates: ["UploadDocument"] },
  keepState: false,
});
