/**
 * Read-your-writes over a streaming replica (`READ_DATABASE_URL`): the consistency coordinator announces what
 * the PRIMARY's views have applied, but the gateway reads the views from a replica that replays the primary's
 * WAL some time later. The gate holds each announcement until the replica shows it (the views' applied
 * points and the coordinator's checkpoint as stored ON THE REPLICA, `read_view_state` and
 * `consistency_checkpoint`), then hands it to the tracker. So:
 *
 * - a token is reached only once the replica has replayed it (a query waiting for it reads it there);
 * - a cache invalidation is applied only once the replica has the new rows, so the entry reloaded after it is
 *   not the old answer again;
 * - a heartbeat ("caught up as of T") moves `freshAsOf` only once the replica has what the primary had at T,
 *   so `staleness_ms` includes the replica's lag, and a replica that stops replaying makes the read side look
 *   behind (the fallback rules then send eventual reads to the primary).
 *
 * While anything is held, the replica's progress is read every `pollMs` (one query for all). The age of the
 * oldest held announcement is the replica's lag (`clone_read_replica_lag_seconds`).
 */

import { comparePoints, type StreamPoint } from "../contracts/consistency-token";
import type {
  CacheInvalidation,
  ConsistencyUpdate,
  QueryType,
  StoredProgress,
  ViewName,
} from "../read-models";

/** An announcement of the coordinator (a refresh, or a heartbeat with `caughtUpAt`). */
export type Announcement = ConsistencyUpdate & { caughtUpAt?: number };

/** Options of {@link createReplicaGate}. */
export interface ReplicaGateOptions {
  /** Reads the progress stored on the replica. */
  readonly readReplicaProgress: () => Promise<StoredProgress>;
  /** Where released announcements go (the tracker's `apply`). */
  readonly release: (update: Announcement) => void;
  /** Everything was dropped for want of room: the cache must be emptied once the replica caught up. */
  readonly invalidateAll: () => void;
  /** Called with each replica progress read (the tracker absorbs it). */
  readonly observe?: (progress: StoredProgress) => void;
  /** How often the replica is read while something is held, ms (default 20). */
  readonly pollMs?: number;
  /** Announcements held at most; beyond, they are merged into one (default 1000). */
  readonly maxHeld?: number;
  readonly now?: () => number;
}

/** The gate between the coordinator's announcements and a gateway reading a replica. */
export interface ReplicaGate {
  /** Takes an announcement: released at once if the replica has it, else held until it does. */
  accept(update: Announcement): void;
  /** How far the replica is behind: seconds since the oldest announcement it does not show yet (0: none). */
  lagSeconds(): number;
  /** Announcements held now. */
  held(): number;
  /** Stops polling (what is held stays held). */
  stop(): void;
}

interface Held {
  update: Announcement;
  /** Merged beyond the bound: the cache is emptied when it is released. */
  invalidateAll: boolean;
  readonly since: number;
}

const later = (a: StreamPoint, b: StreamPoint) => (comparePoints(a, b) >= 0 ? a : b);

/** True when `progress` (the replica's) shows everything `update` announces. */
export function replicaShows(progress: StoredProgress, update: ConsistencyUpdate): boolean {
  if (comparePoints(progress.complete, update.complete) < 0) return false;
  for (const [view, point] of Object.entries(update.views) as [ViewName, StreamPoint][]) {
    const applied = later(progress.views[view] ?? progress.complete, progress.complete);
    if (comparePoints(applied, point) < 0) return false;
  }
  return true;
}

/** Two announcements as one: the later points, both sets of invalidations, the earlier arrival. */
function merge(a: Held, b: Announcement): Held {
  const views: Partial<Record<ViewName, StreamPoint>> = { ...a.update.views };
  for (const [view, point] of Object.entries(b.views) as [ViewName, StreamPoint][]) {
    const mine = views[view];
    views[view] = mine === undefined ? point : later(mine, point);
  }
  const invalidations = new Map<string, CacheInvalidation<QueryType>>();
  for (const inv of [...a.update.invalidations, ...b.invalidations])
    invalidations.set(`${inv.queryType}|${inv.tag}`, inv);
  const caughtUpAt =
    a.update.caughtUpAt === undefined
      ? b.caughtUpAt
      : b.caughtUpAt === undefined
        ? a.update.caughtUpAt
        : Math.max(a.update.caughtUpAt, b.caughtUpAt);
  return {
    update: {
      views,
      complete: later(a.update.complete, b.complete),
      completeSeq: Math.max(a.update.completeSeq, b.completeSeq),
      invalidations: a.invalidateAll ? [] : [...invalidations.values()],
      ...(caughtUpAt === undefined ? {} : { caughtUpAt }),
    },
    invalidateAll: a.invalidateAll,
    since: a.since,
  };
}

const isHeartbeat = (u: Announcement) => u.invalidations.length === 0 && Object.keys(u.views).length === 0;

/** Creates a gate; the first announcement starts the polling. */
export function createReplicaGate(options: ReplicaGateOptions): ReplicaGate {
  const now = options.now ?? Date.now;
  const pollMs = options.pollMs ?? 20;
  const maxHeld = options.maxHeld ?? 1_000;
  let held: Held[] = [];
  let last: StoredProgress | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let reading = false;
  let stopped = false;

  function releaseShown(): void {
    if (last === undefined) return;
    let i = 0;
    // In order: a later announcement never overtakes an earlier one.
    while (i < held.length && replicaShows(last, (held[i] as Held).update)) i++;
    const released = held.slice(0, i);
    held = held.slice(i);
    for (const h of released) {
      if (h.invalidateAll) options.invalidateAll();
      options.release(h.update);
    }
  }

  function schedule(): void {
    if (stopped || timer !== undefined || reading || held.length === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      void poll();
    }, pollMs);
  }

  async function poll(): Promise<void> {
    reading = true;
    try {
      last = await options.readReplicaProgress();
      options.observe?.(last);
      releaseShown();
    } catch {
      // The replica does not answer: what is held stays held (the lag grows); tried again at the next poll.
    } finally {
      reading = false;
      schedule();
    }
  }

  return {
    accept(update) {
      if (held.length === 0 && last !== undefined && replicaShows(last, update)) {
        options.release(update);
        return;
      }
      const tail = held.at(-1);
      if (tail !== undefined && isHeartbeat(update) && isHeartbeat(tail.update)) {
        held[held.length - 1] = merge(tail, update);
      } else if (held.length >= maxHeld) {
        // Too many held (a replica far behind): one announcement of everything, emptying the cache.
        const all = held.reduce((acc, h) => merge(acc, h.update), {
          ...(held[0] as Held),
          invalidateAll: true,
        });
        held = [merge(all, update)];
      } else {
        held.push({ update, invalidateAll: false, since: now() });
      }
      schedule();
    },
    lagSeconds: () => (held.length === 0 ? 0 : Math.max(0, now() - (held[0] as Held).since) / 1000),
    held: () => held.length,
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
