/**
 * Consistency rules, as data (the architecture's `{ eventType, affectedQueryTypes, refreshDelay }`), one per
 * event type of API.md, registered in one place.
 *
 * For each event: which read views must be refreshed and for which keys (keyed refresh recomputes only those
 * rows), which cached query results become stale (query type + cache tag, invalidated on every gateway), and
 * how long the consistency worker may wait to coalesce it with other events for the same view.
 */
import type { EventType } from "../domain";
import type { PublishedEvent } from "../outbox";
import type { ViewName } from "../read-models";

export type { ViewName };

/** The QueryService RPCs whose results are cached. */
export type QueryType =
  | "GetUserProfile"
  | "GetUserStatistics"
  | "ListDocuments"
  | "SearchDocuments"
  | "ListConversations"
  | "GetConversationHistory"
  | "ListVoiceModels"
  | "ListFaceModels";

/** Rows of one view to recompute: those whose `column` is one of `keys`. */
export interface ViewRefresh {
  readonly view: ViewName;
  /** The view's primary key column, or `user_id` to recompute all rows of users. */
  readonly column: string;
  readonly keys: readonly string[];
}

/** A cached query result that became stale: every entry of `queryType` tagged `tag`. */
export interface CacheInvalidation {
  readonly queryType: QueryType;
  readonly tag: string;
}

/** What one event means for the read side. */
export interface ConsistencyRule {
  readonly eventType: EventType;
  /** Query types whose cached results this event makes stale. */
  readonly affectedQueryTypes: readonly QueryType[];
  /** Longest wait, in ms, to coalesce this event with others for the same view before refreshing. */
  readonly refreshDelay: number;
  /** The view rows to recompute. */
  refreshes(event: PublishedEvent): ViewRefresh[];
  /** The cache entries to drop. */
  invalidations(event: PublishedEvent): CacheInvalidation[];
}

/** Cache tag of a user's data. */
export const userTag = (userId: string) => `user:${userId}`;
/** Cache tag of a conversation's data. */
export const conversationTag = (conversationId: string) => `conversation:${conversationId}`;

const str = (event: PublishedEvent, field: string): string | undefined => {
  const v = event.data[field];
  return typeof v === "string" && v !== "" ? v : undefined;
};
const ids = (...values: (string | undefined)[]): string[] => [
  ...new Set(values.filter((v) => v !== undefined)),
];

const byId = (view: ViewName, column: string, ...keys: (string | undefined)[]): ViewRefresh[] => {
  const k = ids(...keys);
  return k.length === 0 ? [] : [{ view, column, keys: k }];
};

/** How quickly the read side follows the write side; small, since lag is measured in milliseconds. */
const DEFAULT_DELAY_MS = 5;

function rule(
  eventType: EventType,
  affectedQueryTypes: readonly QueryType[],
  refreshes: (e: PublishedEvent) => ViewRefresh[],
  tags: (e: PublishedEvent) => { user?: string; conversation?: string },
  refreshDelay = DEFAULT_DELAY_MS,
): ConsistencyRule {
  return {
    eventType,
    affectedQueryTypes,
    refreshDelay,
    refreshes,
    invalidations(e) {
      const t = tags(e);
      return affectedQueryTypes.flatMap((queryType): CacheInvalidation[] => {
        // A conversation's history is tagged by the conversation and by its owner (user.deleted drops it).
        const tag =
          queryType === "GetConversationHistory" && t.conversation
            ? conversationTag(t.conversation)
            : t.user && userTag(t.user);
        return tag ? [{ queryType, tag }] : [];
      });
    },
  };
}

const userOf = (e: PublishedEvent) => ({ user: str(e, "userId") });
const conversationOf = (e: PublishedEvent) => ({
  user: str(e, "userId"),
  conversation: str(e, "conversationId"),
});

function modelRules(kind: "voice_model" | "face_model"): ConsistencyRule[] {
  const view: ViewName = kind === "voice_model" ? "voice_model_summary_view" : "face_model_summary_view";
  const pk = kind === "voice_model" ? "voice_model_id" : "face_model_id";
  const list: QueryType = kind === "voice_model" ? "ListVoiceModels" : "ListFaceModels";
  const model = (e: PublishedEvent) => byId(view, pk, str(e, "modelId"));
  return [
    rule(
      `${kind}.registered`,
      [list, "GetUserStatistics"],
      (e) => [...model(e), ...byId("user_statistics_view", "user_id", str(e, "userId"))],
      userOf,
    ),
    rule(`${kind}.trained`, [list], model, userOf),
    rule(`${kind}.training_failed`, [list], model, userOf),
    rule(
      `${kind}.activated`,
      [list, "GetUserProfile"],
      (e) => [
        ...byId(view, pk, str(e, "modelId"), str(e, "previousModelId")),
        ...byId("user_profile_view", "user_id", str(e, "userId")),
      ],
      userOf,
    ),
  ];
}

const allUserQueries: QueryType[] = [
  "GetUserProfile",
  "GetUserStatistics",
  "ListDocuments",
  "SearchDocuments",
  "ListConversations",
  "GetConversationHistory",
  "ListVoiceModels",
  "ListFaceModels",
];

/** Every rule, one per event type. */
export const consistencyRules: readonly ConsistencyRule[] = [
  rule(
    "user.created",
    ["GetUserProfile", "GetUserStatistics"],
    (e) => [
      ...byId("user_profile_view", "user_id", str(e, "userId")),
      ...byId("user_statistics_view", "user_id", str(e, "userId")),
    ],
    userOf,
  ),
  rule(
    "user.profile_updated",
    ["GetUserProfile"],
    (e) => byId("user_profile_view", "user_id", str(e, "userId")),
    userOf,
  ),
  rule(
    "user.deleted",
    allUserQueries,
    (e) => {
      const u = str(e, "userId");
      return [
        ...byId("user_profile_view", "user_id", u),
        ...byId("user_statistics_view", "user_id", u),
        ...byId("document_summary_view", "user_id", u),
        ...byId("conversation_session_summary_view", "user_id", u),
        ...byId("voice_model_summary_view", "user_id", u),
        ...byId("face_model_summary_view", "user_id", u),
      ];
    },
    userOf,
  ),
  ...modelRules("voice_model"),
  ...modelRules("face_model"),
  ...(
    ["document.uploaded", "document.processed", "document.processing_failed", "document.deleted"] as const
  ).map((t) =>
    rule(
      t,
      ["ListDocuments", "SearchDocuments", "GetUserStatistics"],
      (e) => [
        ...byId("document_summary_view", "document_id", str(e, "documentId")),
        ...byId("user_statistics_view", "user_id", str(e, "userId")),
      ],
      userOf,
    ),
  ),
  ...(["conversation.started", "conversation.turn_recorded", "conversation.ended"] as const).map((t) =>
    rule(
      t,
      [
        "ListConversations",
        "GetConversationHistory",
        "GetUserStatistics",
        "ListVoiceModels",
        "ListFaceModels",
      ],
      (e) => [
        ...byId("conversation_session_summary_view", "conversation_id", str(e, "conversationId")),
        ...byId("user_statistics_view", "user_id", str(e, "userId")),
        ...byId("voice_model_summary_view", "voice_model_id", str(e, "voiceModelId")),
        ...byId("face_model_summary_view", "face_model_id", str(e, "faceModelId")),
      ],
      conversationOf,
    ),
  ),
];

const byType = new Map(consistencyRules.map((r) => [r.eventType as string, r]));

/** The rule of an event type, if there is one. */
export function ruleFor(eventType: string): ConsistencyRule | undefined {
  return byType.get(eventType);
}
