/** conversation_session_summary_view: one row per conversation (ListConversations, GetConversationHistory). */
import { conversationEventTypes } from "../../domain";
import {
  byUserId,
  conversationScope,
  defineView,
  keys,
  onEach,
  selectList,
  userScope,
} from "../view-definition";

/** A conversation's summary. */
export const conversationSessionSummaryView = defineView({
  name: "conversation_session_summary_view",
  keyColumn: "conversation_id",
  serves: "ConversationSummary",
  on: {
    ...onEach(conversationEventTypes, keys("conversation_id", "conversationId")),
    "user.deleted": byUserId,
  },
  queries: { ListConversations: userScope, GetConversationHistory: conversationScope },
});

/** A `conversation_session_summary_view` row (message ConversationSummary). */
export interface ConversationSummaryRow {
  readonly conversation_id: string;
  readonly user_id: string;
  readonly status: "ACTIVE" | "ENDED";
  readonly voice_model_id: string | null;
  readonly face_model_id: string | null;
  readonly turn_count: number;
  readonly user_turns: number;
  readonly clone_turns: number;
  /** bigint. */
  readonly total_audio_ms: string;
  readonly avg_clone_latency_ms: number;
  readonly started_at: Date;
  readonly ended_at: Date | null;
  readonly last_turn_at: Date | null;
}

/** The columns of a `conversation_session_summary_view` row, as queries select them. */
export const conversationSummaryColumns = selectList<ConversationSummaryRow>([
  "conversation_id",
  "user_id",
  "status",
  "voice_model_id",
  "face_model_id",
  "turn_count",
  "user_turns",
  "clone_turns",
  "total_audio_ms",
  "avg_clone_latency_ms",
  "started_at",
  "ended_at",
  "last_turn_at",
]);
