/**
 * Long write transactions anywhere on the Postgres server while lag cells run (item 3 of queries.bench.ts).
 *
 * The outbox relay publishes only events older than every running write transaction that may write to its
 * database (src/outbox/sql.ts, the relay's bound: transaction ids and snapshots are server-wide, and it skips
 * those pg_stat_activity shows in another database), so a long one in the deployment's own database holds its
 * events back while it runs, and those of the server's other tenants (another benchmark's seeding, a test's
 * migration) load the same server. Watching for them from pg_stat_activity tells the two apart.
 *
 * It also counts the block reads of the benchmark's own databases that missed Postgres's shared buffers
 * (pg_stat_database), a cost that does grow with the data: the larger database's pages fit less of them.
 */
import pg from "pg";

/** What the watch saw. */
export interface LongWrites {
  /** Write transactions seen running for at least the threshold. */
  readonly count: number;
  /** Of those, how many were in none of the benchmark's own databases. */
  readonly foreign: number;
  /** The longest one seen: its age when last seen (ms), and the statement it was running (truncated). */
  readonly longestMs: number;
  readonly longestQuery: string;
  readonly thresholdMs: number;
  /** Per own database: blocks read from outside shared buffers, and blocks found in them, during the watch. */
  readonly blocks: ReadonlyMap<string, { readonly read: number; readonly hit: number }>;
}

/** A running watch. */
export interface ServerWatch {
  /** Stops polling and returns what it saw. */
  stop(): Promise<LongWrites>;
}

const SQL = `SELECT pid, datname, xact_start::text AS started,
                    (EXTRACT(EPOCH FROM clock_timestamp() - xact_start) * 1000)::float8 AS ms,
                    left(regexp_replace(query, '\\s+', ' ', 'g'), 80) AS query
               FROM pg_stat_activity
              WHERE backend_xid IS NOT NULL AND xact_start IS NOT NULL AND pid <> pg_backend_pid()
                AND clock_timestamp() - xact_start >= make_interval(secs => $1::float8 / 1000)`;

/** Polls the server of `databaseUrl` every `pollMs` for write transactions running `thresholdMs` or more. */
export async function watchLongWrites(
  databaseUrl: string,
  ownDatabases: readonly string[],
  options: { readonly thresholdMs?: number; readonly pollMs?: number } = {},
): Promise<ServerWatch> {
  const thresholdMs = options.thresholdMs ?? 50;
  const pollMs = options.pollMs ?? 20;
  const client = new pg.Client({ connectionString: databaseUrl, application_name: "bench-lag-watch" });
  client.on("error", () => {});
  await client.connect();
  const seen = new Map<string, { ms: number; foreign: boolean; query: string }>();
  const blocks = async () => {
    const res = await client.query<{ datname: string; read: string; hit: string }>(
      "SELECT datname, blks_read AS read, blks_hit AS hit FROM pg_stat_database WHERE datname = ANY($1)",
      [ownDatabases],
    );
    return new Map(res.rows.map((r) => [r.datname, { read: Number(r.read), hit: Number(r.hit) }]));
  };
  // pg_stat_database is a snapshot per transaction: outside one, each query sees fresh counters.
  const blocksBefore = await blocks();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const res = await client.query<{
          pid: number;
          datname: string;
          started: string;
          ms: number;
          query: string;
        }>(SQL, [thresholdMs]);
        for (const r of res.rows) {
          const key = `${r.pid}|${r.started}`;
          const before = seen.get(key);
          if (!before || r.ms > before.ms)
            seen.set(key, { ms: r.ms, foreign: !ownDatabases.includes(r.datname), query: r.query });
        }
      } catch {
        // A lost poll only makes the watch less complete.
      }
      await Bun.sleep(pollMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      const blocksAfter = await blocks().catch(() => new Map<string, { read: number; hit: number }>());
      await client.end().catch(() => {});
      const delta = new Map<string, { read: number; hit: number }>();
      for (const [db, a] of blocksAfter) {
        const b = blocksBefore.get(db) ?? { read: 0, hit: 0 };
        delta.set(db, { read: a.read - b.read, hit: a.hit - b.hit });
      }
      let longest = { ms: 0, query: "" };
      for (const s of seen.values()) if (s.ms > longest.ms) longest = s;
      return {
        count: seen.size,
        foreign: [...seen.values()].filter((s) => s.foreign).length,
        longestMs: longest.ms,
        longestQuery: longest.query,
        thresholdMs,
        blocks: delta,
      };
    },
  };
}
