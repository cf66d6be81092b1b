/** State of the conversation aggregate: what a row of the conversations table holds (turns live apart). */
import type { Versioned } from "../decider";

/** Lifecycle status of a conversation. */
export type ConversationStatus = "ACTIVE" | "ENDED";

/** A conversation; `version` 0 means it does not exist (the other fields are then empty). */
export interface ConversationState extends Versioned {
  readonly conversationId: string;
  readonly userId: string;
  readonly status: ConversationStatus;
  readonly voiceModelId: string | null;
  readonly faceModelId: string | null;
  /** Turns recorded so far; the next turn gets `turnCount + 1`. */
  readonly turnCount: number;
  readonly startedAt: string;
  readonly lastTurnAt: string | null;
  readonly endedAt: string | null;
}

/** The state of a conversation that was never started. */
export const initialConversationState: ConversationState = {
  version: 0,
  conversationId: "",
  userId: "",
  status: "ACTIVE",
  voiceModelId: null,
  faceModelId: null,
  turnCount: 0,
  startedAt: "",
  lastTurnAt: null,
  endedAt: null,
};
