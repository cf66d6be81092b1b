/** The conversation aggregate's definition (see domain/definition.ts); its tables are `persistence.ts`'s. */
import { defineAggregate } from "../definition";
import type { ConversationCommand } from "./commands";
import { conversationDecider } from "./decider";
import { conversationEventTypes } from "./events";

/** Conversations: started by their user; a worker keeps their state between turns. */
export const conversationAggregate = defineAggregate({
  type: "conversation",
  decider: conversationDecider,
  commandTypes: ["StartConversation", "RecordConversationTurn", "EndConversation"],
  eventTypes: conversationEventTypes,
  target: (command: ConversationCommand) => command.conversationId,
  access: { privileged: [], creates: ["StartConversation"] },
  keepState: true,
});
