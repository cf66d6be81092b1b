/**
 * Consistency rules, as data in the architecture's shape `{ eventType, affectedQueryTypes, refreshDelay }`,
 * one per event type that touches a view, derived from the view definitions (never written by hand).
 *
 * For each event: which read views must be refreshed and for which keys (keyed refresh recomputes only those
 * rows), which cached query results become stale (query type + cache tag, invalidated on every gateway), and
 * how long the consistency worker may wait to coalesce it with other events for the same view.
 */
import { type EventType, eventTypes } from "../domain";
import type { CacheScope, EventKeys, ViewDefinition, ViewRefresh } from "./view-definition";

/** What a rule reads of a published event. */
export interface RuleEvent {
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** A cached query result that became stale: every entry of `queryType` tagged `tag`. */
export interface CacheInvalidation<Q extends string = string> {
  readonly queryType: Q;
  readonly tag: string;
}

/** What one event means for the read side. */
export interface ConsistencyRule<V extends string = string, Q extends string = string> {
  readonly eventType: EventType;
  /** Query types whose cached results this event makes stale: those reading a view it touches. */
  readonly affectedQueryTypes: readonly Q[];
  /** Longest wait, in ms, to coalesce this event with others before refreshing (the least of its views'). */
  readonly refreshDelay: number;
  /** The view rows to recompute (views in registry order; a view whose key fields are empty is left out). */
  refreshes(event: RuleEvent): ViewRefresh<V>[];
  /** The cache entries to drop. */
  invalidations(event: RuleEvent): CacheInvalidation<Q>[];
}

const str = (event: RuleEvent, field: string): string | undefined => {
  const v = event.data[field];
  return typeof v === "string" && v !== "" ? v : undefined;
};

/**
 * The rules of `definitions` (in registry order), one per event type some view is touched by, in the order
 * of {@link eventTypes}; `scopes` says how an event names each query's cached answers.
 */
export function deriveRules<V extends string, Q extends string>(
  definitions: readonly ViewDefinition<V, Q>[],
  scopes: ReadonlyMap<Q, CacheScope>,
): ConsistencyRule<V, Q>[] {
  return eventTypes.flatMap((eventType): ConsistencyRule<V, Q>[] => {
    const touched = definitions.filter((d) => d.on[eventType] !== undefined);
    if (touched.length === 0) return [];
    const affectedQueryTypes = [...new Set(touched.flatMap((d) => Object.keys(d.queries) as Q[]))];
    return [
      {
        eventType,
        affectedQueryTypes,
        refreshDelay: Math.min(...touched.map((d) => d.refreshDelay)),
        refreshes: (event) =>
          touched.flatMap((d) => {
            const { column, fields } = d.on[eventType] as EventKeys;
            const keys = [...new Set(fields.map((f) => str(event, f)).filter((k) => k !== undefined))];
            return keys.length === 0 ? [] : [{ view: d.name, column, keys }];
          }),
        invalidations: (event) =>
          affectedQueryTypes.flatMap((queryType) => {
            const scope = scopes.get(queryType);
            const id = scope && str(event, scope.field);
            if (scope && id) return [{ queryType, tag: scope.tag(id) }];
            // An event naming only the owner (user.deleted) drops the answers by the owner's tag.
            const owner = scope?.owner && str(event, scope.owner.field);
            return scope?.owner && owner ? [{ queryType, tag: scope.owner.tag(owner) }] : [];
          }),
      },
    ];
  });
}
