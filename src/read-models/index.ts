/**
 * The read views of the query side: their registry, their row types, refreshing them (keyed or full) and
 * how far each has followed the event stream. The SQL lives in sql/0004_read_views.sql.
 * (The `*.testkit.ts` files, test support: the in-memory model of the views, a command driver, random command
 * sequences, are deliberately not exported.)
 */
export type { KeyedRefresh, RefreshCount } from "./refresh";
export { refreshAll, refreshFull, refreshKeys, refreshMany } from "./refresh";
export type {
  ConversationSummaryRow,
  DocumentSummaryRow,
  FaceModelSummaryRow,
  UserProfileRow,
  UserStatisticsRow,
  ViewRows,
  VoiceModelSummaryRow,
} from "./rows";
export type { ViewState } from "./state";
export { advanceViewState, advanceViewStates, hasApplied, readViewState, readViewStates } from "./state";
export type { ReadViewDefinition, ViewName } from "./views";
export { isRefreshColumn, isViewName, readViews, viewNames } from "./views";
