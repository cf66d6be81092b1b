/**
 * Events of the conversation aggregate. Every event carries the user and the models in use so that
 * per-user and per-model statistics can be projected from the event alone.
 */
import type { Event } from "../decider";
import type { Speaker } from "./commands";

/** A conversation started (status ACTIVE) with the models resolved (null: none). */
export type ConversationStarted = Event<
  "conversation.started",
  {
    readonly conversationId: string;
    readonly userId: string;
    readonly voiceModelId: string | null;
    readonly faceModelId: string | null;
    readonly startedAt: string;
  }
>;

/** A turn was recorded with the next sequence number. */
export type ConversationTurnRecorded = Event<
  "conversation.turn_recorded",
  {
    readonly conversationId: string;
    readonly userId: string;
    readonly voiceModelId: string | null;
    readonly faceModelId: string | null;
    readonly sequence: number;
    readonly speaker: Speaker;
    readonly text: string;
    readonly audioMs: number;
    readonly latencyMs: number;
    readonly recordedAt: string;
  }
>;

/** The conversation ended (status ENDED) after `turnCount` turns. */
export type ConversationEnded = Event<
  "conversation.ended",
  {
    readonly conversationId: string;
    readonly userId: string;
    readonly turnCount: number;
    readonly endedAt: string;
  }
>;

/** Any event of the conversation aggregate. */
export type ConversationEvent = ConversationStarted | ConversationTurnRecorded | ConversationEnded;

/** The conversation event types, in the order of API.md. */
export const conversationEventTypes = [
  "conversation.started",
  "conversation.turn_recorded",
  "conversation.ended",
] as const satisfies readonly ConversationEvent["type"][];
