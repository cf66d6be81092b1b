/**
 * A `Map` bounded to its `max` most recently used entries: `get` of a present key makes it the most recent,
 * `set` makes its key the most recent and drops the least recently used beyond `max` (a `Map` iterates in
 * insertion order, so re-inserting on use keeps the least recently used first). For the small in-process
 * caches that need nothing more: verified tokens, aggregate owners, the worker's kept conversation states.
 */
export class LruMap<K, V> extends Map<K, V> {
  /** @param max most entries kept; 0 keeps none. */
  constructor(readonly max: number) {
    super();
  }

  override get(key: K): V | undefined {
    if (!super.has(key)) return undefined;
    const value = super.get(key) as V;
    super.delete(key);
    super.set(key, value);
    return value;
  }

  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    while (this.size > this.max) super.delete(super.keys().next().value as K);
    return this;
  }
}
