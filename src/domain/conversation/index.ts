export type {
  ConversationCommand,
  ConversationRefs,
  EndConversation,
  RecordConversationTurn,
  ResolvedConversationCommand,
  Speaker,
  StartConversation,
  StartConversationRefs,
} from "./commands";
export { conversationDecider } from "./decider";
export type {
  ConversationEnded,
  ConversationEvent,
  ConversationStarted,
  ConversationTurnRecorded,
} from "./events";
export { conversationEventTypes } from "./events";
export type { ConversationState, ConversationStatus } from "./state";
export { initialConversationState } from "./state";
