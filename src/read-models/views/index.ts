/**
 * The read views: the registry. One line per view, in locking order (the order in which refreshes of several
 * views lock them, as `read_views.ordinal` in SQL); each view is one file of this folder. Adding a view: its
 * file here, its line below, and a migration with its SQL source, table and `read_views` row (see
 * src/read-models/README.md).
 */
import { createViewRegistry, type NameOf, type QueryTypeOf } from "../view-registry";
import { conversationSessionSummaryView } from "./conversation-session-summary";
import { documentSummaryView } from "./document-summary";
import { faceModelSummaryView, voiceModelSummaryView } from "./model-summaries";
import { userProfileView } from "./user-profile";
import { userStatisticsView } from "./user-statistics";

/** Every read view, in registry (locking) order. */
export const viewDefinitions = [
  userProfileView,
  userStatisticsView,
  documentSummaryView,
  conversationSessionSummaryView,
  voiceModelSummaryView,
  faceModelSummaryView,
] as const;

/** The product's view registry. */
export const viewRegistry = createViewRegistry(viewDefinitions);

/** The name of a read view (also its table's name). */
export type ViewName = NameOf<typeof viewDefinitions>;

/** The QueryService RPCs whose results are cached (each reads views). */
export type QueryType = QueryTypeOf<typeof viewDefinitions>;

/** The read views, in registry (locking) order. */
export const viewNames: readonly ViewName[] = viewRegistry.names;

/** Every read view by name. */
export const readViews = viewRegistry.byName;

/** Which views each cached query reads: its cache entries go stale when one of them changes. */
export const viewsOfQuery = viewRegistry.viewsOfQuery;

/** Every consistency rule, one per event type. */
export const consistencyRules = viewRegistry.rules;

/** The consistency rule of an event type, if there is one. */
export const ruleFor = viewRegistry.ruleFor;

/** The views a query type reads (none for one answered from the write model only). */
export const viewsReadBy = viewRegistry.viewsReadBy;

/** The cache tags of an answer of a query type to its parameters. */
export const cacheTagsOf = viewRegistry.cacheTagsOf;

/** True when `name` is one of the read views. */
export const isViewName = viewRegistry.isViewName;

/** True when a keyed refresh of `view` may select rows by `column`. */
export const isRefreshColumn = viewRegistry.isRefreshColumn;
