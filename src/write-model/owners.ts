/**
 * Who owns an aggregate, for authorisation at the gateway: a user may only command its own aggregates.
 *
 * An aggregate's owner never changes, so answers are cached (bounded LRU); a miss costs one primary-key read.
 */

import type { SqlClient } from "../db/sql-client";
import type { AggregateType } from "../domain";
import { LruMap } from "../lru/lru-map";
import { aggregateStores } from "./stores";

/** The owning user id of an aggregate, or undefined when it does not exist. */
export type OwnerLookup = ((type: AggregateType, id: string) => Promise<string | undefined>) & {
  /** The owner at once when it is cached (no read); undefined when it is not known without one. */
  readonly known?: (type: AggregateType, id: string) => string | undefined;
};

/** The owner's read of each aggregate type, from its table and owner column. */
const ownerSql = Object.fromEntries(
  Object.values(aggregateStores).map(({ type, store, ownerColumn }) => [
    type,
    `SELECT ${ownerColumn} AS owner FROM ${store.table} WHERE id = $1`,
  ]),
) as Record<AggregateType, string>;

/** An owner lookup over the write model with an LRU of `maxEntries`. */
export function createOwnerLookup(db: SqlClient, maxEntries = 100_000): OwnerLookup {
  const cache = new LruMap<string, string>(maxEntries);
  const known = (type: AggregateType, id: string) => cache.get(`${type}:${id}`);
  const lookup = async (type: AggregateType, id: string) => {
    const hit = known(type, id);
    if (hit !== undefined) return hit;
    const res = await db.query<{ owner: string }>(ownerSql[type], [id]);
    const owner = res.rows[0]?.owner;
    if (owner === undefined) return undefined;
    cache.set(`${type}:${id}`, owner);
    return owner;
  };
  return Object.assign(lookup, { known });
}
