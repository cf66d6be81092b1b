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
 */
import pg from "pg";
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
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
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

  async function connect(): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: options.databaseUrl, application_name: "partition-lease" });
    c.on("error", (error) => void lost(c, error));
    await c.connect();
    await c.query("SELECT pg_advisory_lock($1, $2)", [memberNs, memberKey]);
    return c;
  }

  async function lost(c: pg.Client, error: unknown): Promise<void> {
    if (client !== c) return;
    client = undefined;
    options.log?.("partition lease connection lost; releasing partitions", { error: String(error) });
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
        await handlers.onRelease(p);
        await c.query("SELECT pg_advisory_unlock($1, $2)", [partitionNs, p]);
        options.log?.("released partition", { partition: p, members, share, owned: owned.size });
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
      options.log?.("acquired partitions", { acquired, members, share, owned: owned.size });
  }

  function rebalance(): Promise<void> {
    round = round.then(rebalanceOnce).catch((error) => {
      options.log?.("partition rebalance failed", { error: String(error) });
    });
    return round;
  }

  await rebalance();
  const timer = setInterval(() => void rebalance(), rebalanceMs);

  return {
    owned: () => [...owned].sort((a, b) => a - b),
    rebalance,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await round;
      const partitions = [...owned];
      owned.clear();
      await Promise.allSettled(partitions.map((p) => handlers.onRelease(p)));
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    },
  };
}
