/** The document aggregate's tables (see domain/persistence.ts). */
import type { SqlClient } from "../../db/sql-client";
import { definePersistence } from "../persistence";
import { asUserRef, loadUserRef } from "../user/store";
import type { DocumentCommand, ResolvedDocumentCommand } from "./commands";
import { documentAggregate } from "./definition";
import { documentStore } from "./store";

/** An upload names the user it belongs to. */
async function resolveRefs(command: DocumentCommand, _state: unknown, client: SqlClient) {
  if (command.type !== "UploadDocument") return command as ResolvedDocumentCommand;
  return { ...command, refs: { user: asUserRef(await loadUserRef(client, command.userId)) } };
}

/** Documents: their store, refs and owner. */
export const documentPersistence = definePersistence(documentAggregate, {
  store: documentStore,
  resolveRefs,
  ownerColumn: "user_id",
});
