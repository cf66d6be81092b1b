/**
 * Which worker process consumes which command partition: leases held as Postgres advisory locks.
 *
 * Why Postgres: every worker already depends on it, a session-level advisory lock is released the instant its
 * connection dies (a SIGKILLed worker frees its partitions at once, with no lease timeout to wait out), and
 * `pg_locks` lets each process count the live members to take a fair share. NATS 2.9 has no pinned consumers,
 * so JetStream alone cannot give one-owner-per-partition.
 *
 * Each process holds one "member" lock and up to ceil(partitions / members) partition locks on one dedicated
 * connection. Every `rebalanceMs` it takes free partitions up to its share and hands back the excess: it stops
 * consuming a partition and waits for its in-flight commands (`onRelease`) before it unlocks it.
 *
 * Hand-overs do not wait for the timer: a process that joins, leaves or unlocks a partition sends
 * `NOTIFY clone_partition_lease, '<prefix>'`, and every member LISTENs on its lease connection and rebalances
 * at once. On a graceful stop the member lock goes first (the others' share grows), then each partition is
 * unlocked as soon as its in-flight commands are done, so the survivors take it within milliseconds.
 */

import pg from "pg";
import type { Logger } from "../logging";
import { fnv1a } from "./partition";

/** Callbacks run when this process gains or loses a partition. */
export interface OwnershipHandlers {
  /** Start consuming the partition. */
  onAcquire(partition: number): Promise<void>;
  /** Stop consuming and wait for in-flight commands; runs before the lock is released. */
  onRelease(partition: number): Promise<void>;
}

/** Options of {@link createPartitionOwnership}. */
export interface OwnershipOptions {
  readonly databaseUrl: string;
  readonly prefix: string;
  readonly partitions: number;
  readonly rebalanceMs?: number;
  readonly log?: Logger;
}

/** A running lease holder. */
export interface PartitionOwnership {
  /** Partitions this process owns now. */
  owned(): readonly number[];
  /** Runs one rebalance round now (also runs on a timer). */
  rebalance(): Promise<void>;
  /** Releases every partition (after draining) and closes the lease connection. */
  stop(): Promise<void>;
}

/** The channel members NOTIFY when partitions may have become free or the membership changed. */
export const LEASE_CHANNEL = "clone_partition_lease";

function namespace(prefix: string, kind: string): number {
  return fnv1a(`${prefix}:${kind}`) & 0x7fffffff;
}

/** Joins the group of workers for `prefix` and starts taking a fair share of partitions. */
export async function createPartitionOwnership(
  options: OwnershipOptions,
  handlers: OwnershipHandlers,
): Promise<PartitionOwnership> {
  const memberNs = namespace(options.prefix, "member");
  const partitionNs = namespace(options.prefix, "partition");
  const memberKey = Math.floor(Math.random() * 0x7fffffff);
  const rebalanceMs = options.rebalanceMs ?? 1000;
  const owned = new Set<number>();
  let client: pg.Client | undefined;
  let stopped = false;
  let round: Promise<void> = Promise.resolve();
  let stopping: Promise<void> | undefined;

  async function connect(): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: options.databaseUrl, application_name: "partition-lease" });
    c.on("error", (error) => void lost(c, error));
    c.on("notification", (n) => {
      if (n.channel === LEASE_CHANNEL && n.payload === options.prefix && !stopped) void rebalance();
    });
    try {
      await c.connect();
      await c.query("SELECT pg_advisory_lock($1, $2)", [memberNs, memberKey]);
      await c.query(`LISTEN ${LEASE_CHANNEL}`);
      // A new member: the others hand back their excess now rather than at their next timer.
      await announce(c);
    } catch (error) {
      await c.end().catch(() => {});
      throw error;
    }
    return c;
  }

  /** Tells the other members to rebalance now. */
  async function announce(c: pg.Client): Promise<void> {
    await c.query("SELECT pg_notify($1, $2)", [LEASE_CHANNEL, options.prefix]);
  }

  /** Unlocks run one at a time (partitions drain in parallel on stop; pg wants one query at a time). */
  let unlocking: Promise<void> = Promise.resolve();

  /** Drains a partition, unlocks it and tells the others it is free. */
  async function release(c: pg.Client | undefined, p: number): Promise<void> {
    await handlers.onRelease(p);
    if (c === undefined || client !== c) return;
    const unlocked = unlocking.then(async () => {
      await c.query("SELECT pg_advisory_unlock($1, $2)", [partitionNs, p]);
      await announce(c);
    });
    unlocking = unlocked.catch(() => {});
    await unlocked;
  }

  async function lost(c: pg.Client, error: unknown): Promise<void> {
    if (client !== c) return;
    client = undefined;
    options.log?.warn({ error: String(error) }, "partition lease connection lost; releasing partitions");
    const partitions = [...owned];
    owned.clear();
    await Promise.allSettled(partitions.map((p) => handlers.onRelease(p)));
    c.end().catch(() => {});
  }

  async function rebalanceOnce(): Promise<void> {
    if (stopped) return;
    client ??= await connect();
    const c = client;
    const { rows } = await c.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND classid = $1::bigint::oid AND objsubid = 2
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [memberNs],
    );
    const members = Math.max(1, Number(rows[0]?.n ?? 1));
    const share = Math.ceil(options.partitions / members);
    if (owned.size > share) {
      const excess = [...owned].slice(share);
      for (const p of excess) {
        owned.delete(p);
        await release(c, p);
        options.log?.info({ partition: p, members, share, owned: owned.size }, "released partition");
      }
      return;
    }
    const start = memberKey % options.partitions;
    const acquired: number[] = [];
    for (let i = 0; i < options.partitions && owned.size < share; i++) {
      const p = (start + i) % options.partitions;
      if (owned.has(p)) continue;
      const res = await c.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS ok", [
        partitionNs,
        p,
      ]);
      if (!res.rows[0]?.ok) continue;
      owned.add(p);
      try {
        await handlers.onAcquire(p);
        acquired.push(p);
      } catch (error) {
        owned.delete(p);
        await c.query("SELECT pg_advisory_unlock($1, $2)", [partitionNs, p]);
        throw error;
      }
    }
    if (acquired.length > 0)
      options.log?.info({ acquired, members, share, owned: owned.size }, "acquired partitions");
  }

  function rebalance(): Promise<void> {
    round = round.then(rebalanceOnce).catch((error) => {
      options.log?.warn({ error: String(error) }, "partition rebalance failed");
    });
    return round;
  }

  await rebalance();
  const timer = setInterval(() => void rebalance(), rebalanceMs);

  return {
    owned: () => [...owned].sort((a, b) => a - b),
    rebalance,
    stop() {
      stopping ??= (async () => {
        stopped = true;
        clearInterval(timer);
        await round;
        const c = client;
        const partitions = [...owned];
        owned.clear();
        // Leave the group first, so the survivors' share covers these partitions as they come free.
        if (c !== undefined) {
          await c
            .query("SELECT pg_advisory_unlock($1, $2)", [memberNs, memberKey])
            .then(() => announce(c))
            .catch(() => {});
        }
        const released = await Promise.allSettled(partitions.map((p) => release(c, p)));
        for (const r of released) {
          if (r.status === "rejected")
            options.log?.warn({ error: String(r.reason) }, "releasing a partition failed");
        }
        options.log?.info({ partitions: partitions.length }, "released every partition");
        client = undefined;
        await c?.end().catch(() => {});
      })();
      return stopping;
    },
  };
}
