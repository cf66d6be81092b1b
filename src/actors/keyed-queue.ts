/**
 * Operations that must not overlap per key, run one after another in the order asked (different keys run in
 * parallel): how the thread pool and each command thread order a partition's consume, release and restart.
 */

/** A queue of operations per key. */
export interface KeyedQueue<K> {
  /** Runs `operation` once those queued before on `key` settled; resolves or rejects as it does. */
  run(key: K, operation: () => Promise<void>): Promise<void>;
  /** Resolves when every operation queued so far has settled. */
  idle(): Promise<void>;
}

/** Creates an empty queue. */
export function createKeyedQueue<K>(): KeyedQueue<K> {
  /** The last operation queued on each key, settled either way; dropped once nothing follows it. */
  const tails = new Map<K, Promise<void>>();
  return {
    run(key, operation) {
      const run = (tails.get(key) ?? Promise.resolve()).then(operation);
      const settled = run.catch(() => {});
      tails.set(key, settled);
      void settled.then(() => {
        if (tails.get(key) === settled) tails.delete(key);
      });
      return run;
    },
    idle: () => Promise.all(tails.values()).then(() => {}),
  };
}
