/** The conversation aggregate's tables (see domain/persistence.ts). */
import type { SqlClient } from "../../db/sql-client";
import { definePersistence } from "../persistence";
import { loadModelRef } from "../trainable-model/store";
import { loadUserRef } from "../user/store";
import type { ConversationCommand, ResolvedConversationCommand } from "./commands";
import { conversationAggregate } from "./definition";
import { conversationStore } from "./store";

/** A conversation starts with its user and the models it names. */
async function resolveRefs(
  command: ConversationCommand,
  _state: unknown,
  client: SqlClient,
): Promise<ResolvedConversationCommand> {
  if (command.type !== "StartConversation") return command as ResolvedConversationCommand;
  return {
    ...command,
    refs: {
      user: await loadUserRef(client, command.userId),
      voiceModel:
        command.voiceModelId === null
          ? undefined
          : await loadModelRef(client, "voice_model", command.voiceModelId),
      faceModel:
        command.faceModelId === null
          ? undefined
          : await loadModelRef(client, "face_model", command.faceModelId),
    },
  };
}

/** Conversations: their store, refs and owner. */
export const conversationPersistence = definePersistence(conversationAggregate, {
  store: conversationStore,
  resolveRefs,
  ownerColumn: "user_id",
});
