/**
 * What the rest of the read side needs to know about the views, derived from their definitions: names in
 * locking order, definitions by name, which views each query reads, the consistency rules, and the checks
 * of a keyed refresh. Built once for the product's views (views/index.ts); tests build one with extra views.
 */
import { AppError } from "../errors";
import { type CacheInvalidation, type ConsistencyRule, deriveRules } from "./consistency-rules";
import type { CacheScope, ViewDefinition } from "./view-definition";

/** The view names of a list of definitions. */
export type NameOf<D extends readonly ViewDefinition[]> = D[number]["name"];

/** The query types reading a list of definitions. */
export type QueryTypeOf<D extends readonly ViewDefinition[]> = D[number] extends infer V
  ? V extends { readonly queries: infer R }
    ? keyof R & string
    : never
  : never;

/** The views, and everything derived from them. */
export interface ViewRegistry<V extends string, Q extends string> {
  /** The definitions, in registry order: the order in which refreshes of several views lock them. */
  readonly definitions: readonly ViewDefinition<V, Q>[];
  /** The view names, in registry order. */
  readonly names: readonly V[];
  /** Every view by name. */
  readonly byName: Readonly<Record<V, ViewDefinition<V, Q>>>;
  /** Which views each cached query reads: its answers wait for them and go stale when one changes. */
  readonly viewsOfQuery: Readonly<Record<Q, readonly V[]>>;
  /** One rule per event type that touches a view. */
  readonly rules: readonly ConsistencyRule<V, Q>[];
  /** The rule of an event type, if there is one. */
  ruleFor(eventType: string): ConsistencyRule<V, Q> | undefined;
  /** The views a query type reads (none for a query answered from the write model only). */
  viewsReadBy(queryType: string): readonly V[];
  /**
   * The cache tags of an answer of `queryType` to `params`: its scope's tag of the id in the parameter named
   * like the scope's event field (`userId`, `conversationId`); none for a query reading no view.
   */
  cacheTagsOf(queryType: string, params: Readonly<Record<string, unknown>>): string[];
  /** True when `name` is one of the views. */
  isViewName(name: string): name is V;
  /** True when a keyed refresh of `view` may select rows by `column`. */
  isRefreshColumn(view: V, column: string): boolean;
}

export type { CacheInvalidation, ConsistencyRule };

function invalid(message: string): never {
  throw new AppError("INTERNAL", `view registry: ${message}`);
}

/**
 * Derives the registry of `definitions` (in locking order). Throws INTERNAL for a definition that
 * contradicts itself or another: a name twice, an event keyed by a column the view cannot be refreshed by,
 * a query whose answers two views name in different ways.
 */
export function createViewRegistry<const D extends readonly ViewDefinition[]>(
  definitions: D,
): ViewRegistry<NameOf<D>, QueryTypeOf<D>> {
  type V = NameOf<D>;
  type Q = QueryTypeOf<D>;
  const defs = definitions as unknown as readonly ViewDefinition<V, Q>[];
  const byName = new Map<string, ViewDefinition<V, Q>>();
  const scopes = new Map<Q, CacheScope>();
  const viewsOfQuery = new Map<string, V[]>();
  for (const d of defs) {
    if (byName.has(d.name)) invalid(`view "${d.name}" is defined twice`);
    byName.set(d.name, d);
    for (const [eventType, eventKeys] of Object.entries(d.on)) {
      if (eventKeys && !d.refreshColumns.includes(eventKeys.column)) {
        invalid(`view "${d.name}" cannot be refreshed by "${eventKeys.column}" (on ${eventType})`);
      }
    }
    for (const [queryType, scope] of Object.entries(d.queries) as [Q, CacheScope][]) {
      const known = scopes.get(queryType);
      if (known !== undefined && known !== scope) invalid(`query "${queryType}" has two cache scopes`);
      scopes.set(queryType, scope);
      viewsOfQuery.set(queryType, [...(viewsOfQuery.get(queryType) ?? []), d.name]);
    }
  }
  const rules = deriveRules(defs, scopes);
  const ruleByType = new Map<string, ConsistencyRule<V, Q>>(rules.map((r) => [r.eventType, r]));
  return {
    definitions: defs,
    names: defs.map((d) => d.name),
    byName: Object.fromEntries(byName) as Record<V, ViewDefinition<V, Q>>,
    viewsOfQuery: Object.fromEntries(viewsOfQuery) as Record<Q, readonly V[]>,
    rules,
    ruleFor: (eventType) => ruleByType.get(eventType),
    viewsReadBy: (queryType) => viewsOfQuery.get(queryType) ?? [],
    cacheTagsOf(queryType, params) {
      const scope = scopes.get(queryType as Q);
      const id = scope && params[scope.field];
      return scope && typeof id === "string" && id !== "" ? [scope.tag(id)] : [];
    },
    isViewName: (name): name is V => byName.has(name),
    isRefreshColumn: (view, column) => byName.get(view)?.refreshColumns.includes(column) ?? false,
  };
}
