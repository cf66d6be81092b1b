/** Commands of the conversation aggregate; `type` is the RPC name. Ids are already resolved by the gateway. */
import type { WithRefs } from "../decider";
import type { ModelRef, UserWithActiveModelsRef } from "../refs";

/** Who spoke a turn. */
export type Speaker = "USER" | "CLONE";

/**
 * Starts a conversation (status ACTIVE). A model id of null means "the user's active one" (which may be
 * none); an id names a model that must be the user's and TRAINED.
 */
export interface StartConversation {
  readonly type: "StartConversation";
  readonly conversationId: string;
  readonly userId: string;
  readonly voiceModelId: string | null;
  readonly faceModelId: string | null;
}

/** Records one turn; it gets the next sequence number (1, 2, 3, ...). */
export interface RecordConversationTurn {
  readonly type: "RecordConversationTurn";
  readonly conversationId: string;
  readonly speaker: Speaker;
  readonly text: string;
  readonly audioMs: number;
  readonly latencyMs: number;
}

/** Ends the conversation (ACTIVE -> ENDED). */
export interface EndConversation {
  readonly type: "EndConversation";
  readonly conversationId: string;
}

/** Any command of the conversation aggregate. */
export type ConversationCommand = StartConversation | RecordConversationTurn | EndConversation;

/** What StartConversation needs to know about other aggregates. */
export interface StartConversationRefs {
  /** The user named by `userId`, with its active models. */
  readonly user: UserWithActiveModelsRef;
  /** The model named by `voiceModelId`; looked up only when one is named (absent counts as not found). */
  readonly voiceModel?: ModelRef | undefined;
  /** The model named by `faceModelId`; looked up only when one is named (absent counts as not found). */
  readonly faceModel?: ModelRef | undefined;
}

/** Refs per command type: only StartConversation needs any. */
export interface ConversationRefs {
  readonly StartConversation: StartConversationRefs;
}

/** A conversation command with its refs, as `decide` takes it. */
export type ResolvedConversationCommand = WithRefs<ConversationCommand, ConversationRefs>;
