/**
 * Business rules of conversations.
 *
 * - StartConversation: an id that was ever used is ALREADY_EXISTS; a missing or deleted user is NOT_FOUND.
 *   For each kind, a null model id resolves to the user's active model (null when it has none, which is
 *   allowed); a named model that does not exist or belongs to another user is NOT_FOUND, one that is not
 *   TRAINED is FAILED_PRECONDITION (the voice model is checked before the face model).
 * - RecordConversationTurn: NOT_FOUND when missing; FAILED_PRECONDITION unless ACTIVE; sequence is
 *   `turnCount + 1`.
 * - EndConversation: NOT_FOUND when missing; FAILED_PRECONDITION unless ACTIVE.
 */
import { AppError } from "../../errors";
import type { DecideContext, Decider } from "../decider";
import { isLiveUser, type ModelRef } from "../refs";
import { alreadyExists, failedPrecondition, notFound } from "../rejections";
import type {
  EndConversation,
  RecordConversationTurn,
  ResolvedConversationCommand,
  StartConversation,
  StartConversationRefs,
} from "./commands";
import type { ConversationEvent } from "./events";
import { type ConversationState, initialConversationState } from "./state";

type Decision = readonly ConversationEvent[] | AppError;

/** The model a conversation uses: the named one if it may be used, else the user's active one. */
function resolveModel(
  label: string,
  userId: string,
  namedId: string | null,
  ref: ModelRef | undefined,
  activeId: string | null,
): string | null | AppError {
  if (namedId === null) return activeId;
  if (ref === undefined || !ref.exists || ref.userId !== userId) return notFound(label, namedId);
  if (ref.status !== "TRAINED") {
    return failedPrecondition(`${label} ${namedId} is ${ref.status}; only a TRAINED model can be used`);
  }
  return namedId;
}

function start(
  command: StartConversation & { readonly refs: StartConversationRefs },
  state: ConversationState,
  ctx: DecideContext,
): Decision {
  const { conversationId, userId, refs } = command;
  if (state.version > 0) return alreadyExists("conversation", conversationId);
  if (!isLiveUser(refs.user)) return notFound("user", userId);
  const voiceModelId = resolveModel(
    "voice model",
    userId,
    command.voiceModelId,
    refs.voiceModel,
    refs.user.activeVoiceModelId,
  );
  if (voiceModelId instanceof AppError) return voiceModelId;
  const faceModelId = resolveModel(
    "face model",
    userId,
    command.faceModelId,
    refs.faceModel,
    refs.user.activeFaceModelId,
  );
  if (faceModelId instanceof AppError) return faceModelId;
  const data = { conversationId, userId, voiceModelId, faceModelId, startedAt: ctx.now.toISOString() };
  return [{ type: "conversation.started", data }];
}

function requireActive(conversationId: string, state: ConversationState): AppError | undefined {
  if (state.version === 0) return notFound("conversation", conversationId);
  if (state.status !== "ACTIVE")
    return failedPrecondition(`conversation ${conversationId} is ${state.status}`);
  return undefined;
}

function recordTurn(command: RecordConversationTurn, state: ConversationState, ctx: DecideContext): Decision {
  const rejection = requireActive(command.conversationId, state);
  if (rejection !== undefined) return rejection;
  const data = {
    conversationId: state.conversationId,
    userId: state.userId,
    voiceModelId: state.voiceModelId,
    faceModelId: state.faceModelId,
    sequence: state.turnCount + 1,
    speaker: command.speaker,
    text: command.text,
    audioMs: command.audioMs,
    latencyMs: command.latencyMs,
    recordedAt: ctx.now.toISOString(),
  };
  return [{ type: "conversation.turn_recorded", data }];
}

function end(command: EndConversation, state: ConversationState, ctx: DecideContext): Decision {
  const rejection = requireActive(command.conversationId, state);
  if (rejection !== undefined) return rejection;
  const { conversationId, userId, turnCount } = state;
  return [
    {
      type: "conversation.ended",
      data: { conversationId, userId, turnCount, endedAt: ctx.now.toISOString() },
    },
  ];
}

function evolve(state: ConversationState, event: ConversationEvent): ConversationState {
  const version = state.version + 1;
  switch (event.type) {
    case "conversation.started": {
      const { conversationId, userId, voiceModelId, faceModelId, startedAt } = event.data;
      return {
        ...initialConversationState,
        version,
        conversationId,
        userId,
        voiceModelId,
        faceModelId,
        startedAt,
      };
    }
    case "conversation.turn_recorded":
      return { ...state, version, turnCount: event.data.sequence, lastTurnAt: event.data.recordedAt };
    case "conversation.ended":
      return { ...state, version, status: "ENDED", endedAt: event.data.endedAt };
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

/** The conversation decider. */
export const conversationDecider: Decider<ResolvedConversationCommand, ConversationEvent, ConversationState> =
  {
    initialState: () => initialConversationState,
    decide(command, state, ctx) {
      switch (command.type) {
        case "StartConversation":
          return start(command, state, ctx);
        case "RecordConversationTurn":
          return recordTurn(command, state, ctx);
        case "EndConversation":
          return end(command, state, ctx);
        default: {
          const _exhaustive: never = command;
          return _exhaustive;
        }
      }
    },
    evolve,
  };
