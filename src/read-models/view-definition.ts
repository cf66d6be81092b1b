/**
 * One read view, declared as data: its SQL source, its keys, the events that touch it and how (which event
 * fields name the rows to recompute), and the queries that read it (with how an event names their cached
 * answers). Everything else about views, the consistency rules, the query→view map, the refresh checks and
 * locking order, is derived from these definitions by the registry (views/index.ts, view-registry.ts).
 *
 * The SQL half of a view lives in a migration (sql/0004_read_views.sql for the first six): the source view
 * `<name>_source`, the table `<name>` and its `read_views` row, which must match the definition
 * (views.int.test.ts checks it).
 */
import type { EventType } from "../domain";

/** Where an event names the rows to recompute: the string fields of its data holding ids of `column`. */
export interface EventKeys {
  /** A refresh column of the view: its primary key, or `user_id`. */
  readonly column: string;
  /** Fields of the event's data whose values (when non-empty strings) are keys. */
  readonly fields: readonly string[];
}

/** How an event names the cached answers of a query: the data field with the id, and that id's cache tag. */
export interface CacheScope {
  /** The field of the event's data, and of the query's parsed parameters, holding the id. */
  readonly field: string;
  /** The cache tag of the answers about that id. */
  readonly tag: (id: string) => string;
  /**
   * The scope of the id's owner, when the answers are tagged by their owner too (the query adds that tag, see
   * `ownerTags` in queries/query-bus.ts): an event that names only the owner (`user.deleted`) drops them by it.
   */
  readonly owner?: CacheScope;
}

/** Answers about one user: tag `user:<userId>`. */
export const userScope: CacheScope = { field: "userId", tag: (id) => `user:${id}` };
/** Answers about one conversation: tag `conversation:<conversationId>`, and its owner's `user:<userId>`. */
export const conversationScope: CacheScope = {
  field: "conversationId",
  tag: (id) => `conversation:${id}`,
  owner: userScope,
};

/** One read view. */
export interface ViewDefinition<N extends string = string, Q extends string = string> {
  /** The view's table. */
  readonly name: N;
  /** The SQL view that defines the rows. */
  readonly source: `${N}_source`;
  /** The primary key column (one uuid per row). */
  readonly keyColumn: string;
  /** The columns a keyed refresh may select rows by: the primary key, and `user_id`. */
  readonly refreshColumns: readonly string[];
  /** The API message (clone.v1) one row serves. */
  readonly serves: string;
  /** The events that touch the view, and where each names the rows to recompute. */
  readonly on: Readonly<Partial<Record<EventType, EventKeys>>>;
  /** The cached query types that read the view, with how an event names their answers. */
  readonly queries: Readonly<Record<Q, CacheScope>>;
  /** Longest wait, in ms, to coalesce an event with others for this view before refreshing it. */
  readonly refreshDelay: number;
}

/** What a view file declares; {@link defineView} completes it. */
export interface ViewSpec<N extends string, Q extends string> {
  readonly name: N;
  readonly keyColumn: string;
  readonly serves: string;
  readonly on: Readonly<Partial<Record<EventType, EventKeys>>>;
  readonly queries: Readonly<Record<Q, CacheScope>>;
  /** Default {@link DEFAULT_REFRESH_DELAY_MS}. */
  readonly refreshDelay?: number;
}

/** How quickly the read side follows the write side; small, since lag is measured in milliseconds. */
export const DEFAULT_REFRESH_DELAY_MS = 5;

/** A view definition: the source is `<name>_source`; keyed refreshes go by the primary key or `user_id`. */
export function defineView<const N extends string, const Q extends string>(
  spec: ViewSpec<N, Q>,
): ViewDefinition<N, Q> {
  return {
    name: spec.name,
    source: `${spec.name}_source`,
    keyColumn: spec.keyColumn,
    refreshColumns: spec.keyColumn === "user_id" ? ["user_id"] : [spec.keyColumn, "user_id"],
    serves: spec.serves,
    on: spec.on,
    queries: spec.queries,
    refreshDelay: spec.refreshDelay ?? DEFAULT_REFRESH_DELAY_MS,
  };
}

/** Keys of `column` taken from the event fields `fields`. */
export const keys = (column: string, ...fields: string[]): EventKeys => ({ column, fields });

/** All rows of the event's user (`userId`): what every view does when a user is deleted. */
export const byUserId: EventKeys = keys("user_id", "userId");

/** The same keys for each of `types`. */
export function onEach(
  types: readonly EventType[],
  eventKeys: EventKeys,
): Partial<Record<EventType, EventKeys>> {
  return Object.fromEntries(types.map((type) => [type, eventKeys]));
}

/** Rows of one view to recompute: those whose `column` (primary key or `user_id`) is one of `keys`. */
export interface ViewRefresh<V extends string = string> {
  readonly view: V;
  readonly column: string;
  readonly keys: readonly string[];
}

/**
 * The select list of a view's columns, checked against its row type. Queries name their columns rather than
 * `SELECT *`: their statements are prepared once per connection, and a prepared `SELECT *` fails ("cached plan
 * must not change result type") once a view's new version with another column is swapped in.
 */
export function selectList<Row>(columns: readonly (keyof Row & string)[]): string {
  return columns.join(", ");
}
