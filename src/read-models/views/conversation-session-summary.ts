/** conversation_session_summary_view: one row per conversation (ListConversations, GetConversationHistory). */
import { conversationEventTypes } from "../../domain";
import { byUserId, conversationScope, defineView, keys, onEach, userScope } from "../view-definition";

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
