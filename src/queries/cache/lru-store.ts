/**
 * The entries of the query cache: a `Map` kept in least-recently-used order (a `Map` iterates in insertion
 * order, so re-inserting on use moves an entry to the end), with running totals of entries and bytes and an
 * index from tag to keys for invalidation.
 */

/** One cached result. */
export interface StoredEntry<V> {
  readonly key: string;
  /** The query type read from the key; undefined for keys not made by `cacheKey`. */
  readonly queryType: string | undefined;
  readonly tags: readonly string[];
  readonly value: V;
  /** Clock reading when the entry was stored, in ms. */
  readonly storedAt: number;
  /** Estimated size of the value, in bytes. */
  readonly size: number;
  /** Number of the load that produced the value; a result of an earlier load never replaces it. */
  readonly loadId: number;
  /** How to load it again (refresh ahead of expiry, reload after an invalidation). */
  readonly reload?: () => Promise<V>;
  /**
   * When the key last answered a lookup from the cache (carried over to the entry a refresh or reload stores):
   * only keys read within the last TTL are refreshed or reloaded.
   */
  lastReadAt?: number;
}

/** A bounded LRU map of entries. */
export interface LruStore<V> {
  /** The entry of `key`, without marking it used. */
  peek(key: string): StoredEntry<V> | undefined;
  /** Marks `key` as the most recently used. */
  touch(key: string): void;
  /**
   * Stores an entry as the most recently used, replacing the key's previous entry and evicting the least
   * recently used ones to stay within the bounds. An entry larger than the byte bound is not stored (and the
   * key's previous entry is dropped). Returns how many other entries were evicted.
   */
  set(entry: StoredEntry<V>): number;
  /** Drops the entry of `key`; true when there was one. */
  delete(key: string): boolean;
  /** The keys of entries tagged `tag` (a copy, safe to delete while iterating). */
  keysTagged(tag: string): string[];
  /** Drops every entry; returns how many there were. */
  clear(): number;
  /** Every entry, least recently used first. */
  entries(): IterableIterator<StoredEntry<V>>;
  readonly count: number;
  readonly bytes: number;
}

function sameTags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Creates an empty store holding at most `maxEntries` entries and `maxBytes` bytes. */
export function createLruStore<V>(maxEntries: number, maxBytes: number): LruStore<V> {
  const map = new Map<string, StoredEntry<V>>();
  const byTag = new Map<string, Set<string>>();
  let bytes = 0;

  function remove(entry: StoredEntry<V>): void {
    map.delete(entry.key);
    bytes -= entry.size;
    for (const tag of entry.tags) {
      const keys = byTag.get(tag);
      keys?.delete(entry.key);
      if (keys?.size === 0) byTag.delete(tag);
    }
  }

  return {
    peek: (key) => map.get(key),
    touch(key) {
      const entry = map.get(key);
      if (!entry) return;
      map.delete(key);
      map.set(key, entry);
    },
    set(entry) {
      const previous = map.get(entry.key);
      if (previous && entry.size <= maxBytes && sameTags(previous.tags, entry.tags)) {
        // A key loaded again (a bypass or token read, a refresh): its tags are usually the same, so the
        // tag index stays as it is and only the entry and its place in the order change.
        map.delete(entry.key);
        bytes -= previous.size;
      } else {
        if (previous) remove(previous);
        if (entry.size > maxBytes) return 0;
        for (const tag of entry.tags) {
          const keys = byTag.get(tag) ?? new Set<string>();
          byTag.set(tag, keys);
          keys.add(entry.key);
        }
      }
      let evicted = 0;
      while (map.size >= maxEntries || bytes + entry.size > maxBytes) {
        const oldest = map.values().next().value;
        if (!oldest) break;
        remove(oldest);
        evicted++;
      }
      map.set(entry.key, entry);
      bytes += entry.size;
      return evicted;
    },
    delete(key) {
      const entry = map.get(key);
      if (entry) remove(entry);
      return entry !== undefined;
    },
    keysTagged: (tag) => [...(byTag.get(tag) ?? [])],
    clear() {
      const n = map.size;
      map.clear();
      byTag.clear();
      bytes = 0;
      return n;
    },
    entries: () => map.values(),
    get count() {
      return map.size;
    },
    get bytes() {
      return bytes;
    },
  };
}
