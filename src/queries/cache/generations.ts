/**
 * Generations: which invalidations happened after a load started.
 *
 * Dropping cached entries is not enough: a load that read the views before a write may resolve after the
 * write's invalidation and would put the old answer back. So every invalidation takes the next number of one
 * counter and records it against its tag, or its (query type, tag) pair, or everything; a load takes the
 * counter's value when it starts, and its result may be stored only if no invalidation touching its query type
 * and tags was recorded after that.
 *
 * The records are needed only while a load that started before them is running, so they are pruned against
 * the oldest running load (and cleared when none runs): memory follows activity, not the number of tags ever
 * invalidated.
 */

/** The invalidation counter, as read when a load starts. */
export type Generation = number;

/** Records of invalidations, for checking loads against. */
export interface Generations {
  /** The counter now: pass it back to {@link Generations.staleSince} when the load finishes. */
  current(): Generation;
  /** Records an invalidation of `tag` for `queryType` (every query type when undefined). */
  bump(queryType: string | undefined, tag: string): void;
  /** Records an invalidation of everything. */
  bumpAll(): void;
  /**
   * True when an invalidation touching this query type and these tags was recorded after `since`. A query type
   * of undefined (a key not made by `cacheKey`) is touched by invalidations of any query type.
   */
  staleSince(since: Generation, queryType: string | undefined, tags: readonly string[]): boolean;
  /** Drops records no load started at or after `oldestRunning` can be stale by; all when undefined. */
  prune(oldestRunning: Generation | undefined): void;
  /** Records kept. */
  size(): number;
}

/** Creates an empty record of invalidations. */
export function createGenerations(): Generations {
  let counter = 0;
  let allAt = 0;
  /** tag -> counter at its last invalidation for every query type. */
  const byTag = new Map<string, number>();
  /** tag -> query type -> counter at its last invalidation for that query type. */
  const byTypeTag = new Map<string, Map<string, number>>();
  let typeTagCount = 0;

  const newer = (at: number | undefined, since: number) => at !== undefined && at > since;

  return {
    current: () => counter,
    bump(queryType, tag) {
      counter++;
      if (queryType === undefined) {
        byTag.set(tag, counter);
        return;
      }
      const types = byTypeTag.get(tag) ?? new Map<string, number>();
      byTypeTag.set(tag, types);
      if (!types.has(queryType)) typeTagCount++;
      types.set(queryType, counter);
    },
    bumpAll() {
      counter++;
      allAt = counter;
      byTag.clear();
      byTypeTag.clear();
      typeTagCount = 0;
    },
    staleSince(since, queryType, tags) {
      if (allAt > since) return true;
      for (const tag of tags) {
        if (newer(byTag.get(tag), since)) return true;
        const types = byTypeTag.get(tag);
        if (!types) continue;
        if (queryType !== undefined) {
          if (newer(types.get(queryType), since)) return true;
        } else {
          for (const at of types.values()) if (at > since) return true;
        }
      }
      return false;
    },
    prune(oldestRunning) {
      if (oldestRunning === undefined) {
        byTag.clear();
        byTypeTag.clear();
        typeTagCount = 0;
        return;
      }
      for (const [tag, at] of byTag) if (at <= oldestRunning) byTag.delete(tag);
      for (const [tag, types] of byTypeTag) {
        for (const [type, at] of types) {
          if (at <= oldestRunning) {
            types.delete(type);
            typeTagCount--;
          }
        }
        if (types.size === 0) byTypeTag.delete(tag);
      }
    },
    size: () => byTag.size + typeTagCount,
  };
}
