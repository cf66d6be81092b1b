/** Requests of the conversation commands: StartConversation, RecordConversationTurn, EndConversation. */
import type { Speaker } from "../../domain";
import { optionalUuid, speaker, speakerValues, turnText, uint32, uuid } from "./fields";
import { defineRequest, idOrNew, requestSchema } from "./request";

/**
 * `StartConversationRequest`: `conversation_id` may be empty (generated); an empty model id means the
 * user's active model of that kind.
 */
export const startConversationRequestSchema = requestSchema({
  conversationId: optionalUuid,
  userId: uuid,
  voiceModelId: optionalUuid,
  faceModelId: optionalUuid,
});

/** `RecordConversationTurnRequest`. */
export const recordConversationTurnRequestSchema = requestSchema({
  conversationId: uuid,
  speaker,
  text: turnText,
  audioMs: uint32,
  latencyMs: uint32,
});

/** `EndConversationRequest`. */
export const endConversationRequestSchema = requestSchema({ conversationId: uuid });

const speakerOf = (value: number): Speaker => (value === speakerValues.SPEAKER_USER ? "USER" : "CLONE");

const modelIdOrActive = (id: string): string | null => (id === "" ? null : id.toLowerCase());

/** StartConversation: a missing id is generated; empty model ids become null (the user's active ones). */
export const startConversationRequest = defineRequest(
  "StartConversation",
  startConversationRequestSchema,
  (r, newId) => ({
    conversationId: idOrNew(r.conversationId, newId),
    userId: r.userId.toLowerCase(),
    voiceModelId: modelIdOrActive(r.voiceModelId),
    faceModelId: modelIdOrActive(r.faceModelId),
  }),
);

/** RecordConversationTurn: the `Speaker` enum value becomes "USER" or "CLONE". */
export const recordConversationTurnRequest = defineRequest(
  "RecordConversationTurn",
  recordConversationTurnRequestSchema,
  (r) => ({
    conversationId: r.conversationId.toLowerCase(),
    speaker: speakerOf(r.speaker),
    text: r.text,
    audioMs: r.audioMs,
    latencyMs: r.latencyMs,
  }),
);

/** EndConversation. */
export const endConversationRequest = defineRequest("EndConversation", endConversationRequestSchema, (r) => ({
  conversationId: r.conversationId.toLowerCase(),
}));
