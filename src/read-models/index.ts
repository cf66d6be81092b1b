/**
 * The read views of the query side: one definition per view (views/, registered in views/index.ts) and what
 * is derived from them (the consistency rules, which views each query reads), refreshing them (keyed or
 * full), how far each has followed the event stream, and the progress the consistency role announces.
 * The SQL lives in sql/0004_read_views.sql. (The `*.testkit.ts` files, test support: the in-memory model of
 * the views, a command driver, random command sequences, are deliberately not exported.)
 */
export type { CacheInvalidation, ConsistencyRule, RuleEvent } from "./consistency-rules";
export type { ConsistencyUpdate, StoredProgress } from "./progress";
export { readStoredProgress } from "./progress";
export type { Difference, DriftRepair } from "./reconcile";
export { FIRST_KEY, invalidationsOf, nextViewKeys, repairDrift, viewDifferences } from "./reconcile";
export type { KeyedRefresh, RefreshCount } from "./refresh";
export { refreshAll, refreshFull, refreshKeys, refreshMany } from "./refresh";
export type { ViewState } from "./state";
export { advanceViewState, advanceViewStates, hasApplied, readViewState, readViewStates } from "./state";
export type { ViewBuild, ViewBuildOptions, ViewBuildResult } from "./view-builds";
export { buildStep, listViewBuilds, runViewBuild, swapView } from "./view-builds";
export type { CacheScope, EventKeys, ViewDefinition, ViewRefresh } from "./view-definition";
export { conversationScope, userScope } from "./view-definition";
export type { ViewRegistry } from "./view-registry";
export type { QueryType, ViewName } from "./views";
export {
  cacheTagsOf,
  consistencyRules,
  isRefreshColumn,
  isViewName,
  readViews,
  ruleFor,
  viewNames,
  viewsOfQuery,
  viewsReadBy,
} from "./views";
export type { ConversationSummaryRow } from "./views/conversation-session-summary";
export { conversationSummaryColumns } from "./views/conversation-session-summary";
export type { DocumentSummaryRow } from "./views/document-summary";
export { documentSummaryColumns } from "./views/document-summary";
export type { FaceModelSummaryRow, VoiceModelSummaryRow } from "./views/model-summaries";
export { faceModelSummaryColumns, voiceModelSummaryColumns } from "./views/model-summaries";
export type { UserProfileRow } from "./views/user-profile";
export type { UserStatisticsRow } from "./views/user-statistics";
export { userStatisticsColumns } from "./views/user-statistics";
