/**
 * Who owns an aggregate, for authorisation at the gateway: a user may only command its own aggregates.
 *
 * An aggregate's owner never changes, so answers are cached (bounded LRU); a miss costs one primary-key read.
 */
import type { AggregateType } from "../domain";
import { LruMap } from "../lru/lru-map";
import type { SqlClient } from "../write-model";

/** The owning user id of an aggregate, or undefined when it does not exist. */
export type OwnerLookup = (type: AggregateType, id: string) => Promise<string | undefined>;

const ownerSql: Record<AggregateType, string> = {
  user: "SELECT id AS owner FROM users WHERE id = $1",
  voice_model: "SELECT user_id AS owner FROM voice_models WHERE id = $1",
  face_model: "SELECT user_id AS owner FROM face_models WHERE id = $1",
  document: "SELECT user_id AS owner FROM documents WHERE id = $1",
  conversation: "SELECT user_id AS owner FROM conversations WHERE id = $1",
};

/** An owner lookup over the write model with an LRU of `maxEntries`. */
export function createOwnerLookup(db: SqlClient, maxEntries = 100_000): OwnerLookup {
  const cache = new LruMap<string, string>(maxEntries);
  return async (type, id) => {
    const key = `${type}:${id}`;
    const hit = cache.get(key);
    if (hit !== undefined) return hit;
    const res = await db.query<{ owner: string }>(ownerSql[type], [id]);
    const owner = res.rows[0]?.owner;
    if (owner === undefined) return undefined;
    cache.set(key, owner);
    return owner;
  };
}
