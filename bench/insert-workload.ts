/**
 * The Postgres baseline: one single-row INSERT in its own transaction (BEGIN; INSERT; COMMIT), on a bare
 * `pg.Pool` as large as the concurrency (capped), into a scratch table of the benchmark's database. Every
 * commit waits for its WAL flush, as a command transaction does.
 */
import pg from "pg";
import type { Operation } from "./load";

/** A pool of open connections and the insert operation on it. */
export interface InsertWorkload {
  readonly op: Operation;
  /** Connections in the pool: the size asked for, or less when the server had fewer to spare. */
  readonly poolSize: number;
  close(): Promise<void>;
}

/** Connections left for others (other test runs on a shared server) when sizing the pool. */
const SPARE_CONNECTIONS = 10;

/** Creates the scratch table (once per database; safe to call again). */
export async function createScratchTable(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS bench_scratch (
      id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      conversation_id uuid        NOT NULL,
      text            text        NOT NULL,
      created_at      timestamptz NOT NULL DEFAULT now()
    )`);
  } finally {
    await client.end();
  }
}

/**
 * Opens a pool of `size` connections (all of them, before measuring), or of as many as the server can spare
 * without crowding out other clients (`max_connections` is shared with the service under test and others).
 */
export async function prepareInsertWorkload(
  databaseUrl: string,
  size: number,
  admin: pg.Pool,
): Promise<InsertWorkload> {
  const poolSize = Math.max(1, Math.min(size, (await freeConnections(admin)) - SPARE_CONNECTIONS));
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    application_name: "bench-insert",
  });
  // A connection ended under it (the database dropped at Ctrl-C) fails its query; it must not also throw.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  const attempts = await Promise.allSettled(Array.from({ length: poolSize }, () => pool.connect()));
  for (const a of attempts) if (a.status === "fulfilled") a.value.release();
  const failure = attempts.find((a) => a.status === "rejected");
  if (failure) {
    await pool.end();
    throw failure.reason;
  }
  return {
    poolSize,
    op: async (lane, seq) => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        await client.query("INSERT INTO bench_scratch (conversation_id, text) VALUES ($1, $2)", [
          crypto.randomUUID(),
          `lane ${lane} turn ${seq}`,
        ]);
        await client.query("COMMIT");
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

/** Connections a normal user may still open on the server. */
async function freeConnections(admin: pg.Pool): Promise<number> {
  const res = await admin.query<{ free: number }>(
    `SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
            - (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS free`,
  );
  return res.rows[0]?.free ?? 0;
}
