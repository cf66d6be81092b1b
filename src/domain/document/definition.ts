/** The document aggregate's definition (see domain/definition.ts). */
import type { SqlClient } from "../../db/sql-client";
import { defineAggregate } from "../definition";
import { asUserRef, loadUserRef } from "../user/store";
import type { DocumentCommand, ResolvedDocumentCommand } from "./commands";
import { documentDecider } from "./decider";
import { documentStore } from "./store";

/** An upload names the user it belongs to. */
async function resolveRefs(command: DocumentCommand, _state: unknown, client: SqlClient) {
  if (command.type !== "UploadDocument") return command as ResolvedDocumentCommand;
  return { ...command, refs: { user: asUserRef(await loadUserRef(client, command.userId)) } };
}

/** Documents: uploaded by their user; processing results are for services. */
export const documentAggregate = defineAggregate({
  type: "document",
  decider: documentDecider,
  store: documentStore,
  resolveRefs,
  ownerColumn: "user_id",
  access: { privileged: ["RecordDocumentProcessing"], creates: ["UploadDocument"] },
  keepState: false,
});
