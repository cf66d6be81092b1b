/**
 * Maps an aggregate id to a command partition.
 *
 * All commands of one aggregate land in one partition, and each partition has one consumer owned by one worker
 * process at a time, so an aggregate's commands are delivered in the order they were accepted.
 */

/** FNV-1a 32-bit hash of a string: stable across processes and runtimes. */
export function fnv1a(value: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The partition (0..partitions-1) of an aggregate id. */
export function partitionOf(aggregateId: string, partitions: number): number {
  return fnv1a(aggregateId) % partitions;
}
