/**
 * The six read views as data: the registry the SQL side holds in `read_views` (sql/0004_read_views.sql),
 * mirrored here for the consistency worker and the query side.
 *
 * Each view `<name>` is a table maintained like a materialized view from its one definition, the SQL view
 * `<name>_source`; it can be refreshed whole or for the rows whose key column is in a list of ids. A keyed
 * refresh may select rows by the view's primary key or by `user_id` (all rows of some users: what a deleted
 * user needs). The order of {@link viewNames} is the order in which refreshes lock views.
 */

/** The read views, in registry (locking) order. */
export const viewNames = [
  "user_profile_view",
  "user_statistics_view",
  "document_summary_view",
  "conversation_session_summary_view",
  "voice_model_summary_view",
  "face_model_summary_view",
] as const;

/** The name of a read view (also its table's name). */
export type ViewName = (typeof viewNames)[number];

/** One read view. */
export interface ReadViewDefinition<V extends ViewName = ViewName> {
  readonly name: V;
  /** The SQL view that defines the rows. */
  readonly source: `${V}_source`;
  /** The primary key column (one uuid per row). */
  readonly keyColumn: string;
  /** The columns a keyed refresh may select rows by: the primary key, and `user_id`. */
  readonly refreshColumns: readonly string[];
  /** The API message (clone.v1) one row serves. */
  readonly serves: string;
}

function define<V extends ViewName>(name: V, keyColumn: string, serves: string): ReadViewDefinition<V> {
  const refreshColumns = keyColumn === "user_id" ? ["user_id"] : [keyColumn, "user_id"];
  return { name, source: `${name}_source`, keyColumn, refreshColumns, serves };
}

/** Every read view by name. */
export const readViews: { readonly [V in ViewName]: ReadViewDefinition<V> } = {
  user_profile_view: define("user_profile_view", "user_id", "UserProfile"),
  user_statistics_view: define("user_statistics_view", "user_id", "UserStatistics"),
  document_summary_view: define("document_summary_view", "document_id", "DocumentSummary"),
  conversation_session_summary_view: define(
    "conversation_session_summary_view",
    "conversation_id",
    "ConversationSummary",
  ),
  voice_model_summary_view: define("voice_model_summary_view", "voice_model_id", "VoiceModelSummary"),
  face_model_summary_view: define("face_model_summary_view", "face_model_id", "FaceModelSummary"),
};

const names: ReadonlySet<string> = new Set(viewNames);

/** True when `name` is one of the read views. */
export function isViewName(name: string): name is ViewName {
  return names.has(name);
}

/** True when a keyed refresh of `view` may select rows by `column`. */
export function isRefreshColumn(view: ViewName, column: string): boolean {
  return readViews[view].refreshColumns.includes(column);
}
