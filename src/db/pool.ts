/**
 * The Postgres connection pool and the transaction helper.
 *
 * pg's type parsing is left at its defaults, on purpose: `bigint` (int8) columns such as `version`,
 * `position`, `audio_ms` and `count(*)` come back as strings (a JS number would silently lose precision past
 * 2^53), `numeric` as strings, `timestamptz` as `Date`, `jsonb` parsed, `bytea` as `Buffer`. Convert with
 * `BigInt(...)`/`Number(...)` where the value is known to be small, or cast in SQL (`count(*)::int`).
 */
import pg from "pg";

/** Options of {@link createPool}. */
export interface PoolOptions {
  /** Most connections open at once (config `DB_POOL_SIZE`). */
  readonly max: number;
  /** How long to wait for a free connection or a new one, ms; then the query fails. Default 5000. */
  readonly connectionTimeoutMs?: number;
  /** How long an idle connection is kept, ms. Default 30000. */
  readonly idleTimeoutMs?: number;
  /** Shown in `pg_stat_activity`. Default `clone-cqrs`. */
  readonly applicationName?: string;
  /**
   * Called when an idle connection fails (e.g. Postgres restarted). pg drops that connection; without a
   * listener its `error` event would crash the process. Default: ignored, the next query reports it.
   */
  readonly onIdleError?: (error: Error) => void;
  /**
   * Connects with {@link GENERIC_PLANS_OPTION}. For a pool that runs the same few prepared statements over
   * and over (the command threads): otherwise Postgres plans statements with array parameters anew at every
   * execution (it compares a generic plan costed for 10 array elements with the custom plans for 1 and keeps
   * planning). Only for statements whose generic plan is the right one.
   */
  readonly genericPlans?: boolean;
}

/**
 * The connection option (`options` of a pg client: a setting sent with the start-up message, so it cannot be
 * missed or fail apart from the connection) that makes prepared statements use one plan made without the
 * parameters' values, planned once per connection (and again after an ANALYZE of a table it reads). Measured
 * on the command path at concurrency 1 (statement log): binding a worker's prepared write took about 0.1 ms
 * and the relay's batch read 0.3 ms, every execution, before; Postgres CPU per command fell by a quarter.
 */
export const GENERIC_PLANS_OPTION = "-c plan_cache_mode=force_generic_plan";

/** Creates a `pg.Pool` for `url`; see the module comment for how values are parsed. */
export function createPool(url: string, options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
    application_name: options.applicationName ?? "clone-cqrs",
    ...(options.genericPlans === true ? { options: GENERIC_PLANS_OPTION } : {}),
  });
  const onIdleError = options.onIdleError ?? (() => {});
  pool.on("error", onIdleError);
  return pool;
}

/** Isolation levels for {@link withTransaction}. */
export type IsolationLevel = "READ COMMITTED" | "REPEATABLE READ" | "SERIALIZABLE";

/**
 * Runs `fn` in a transaction on one pooled connection: BEGIN, then COMMIT when `fn` resolves or ROLLBACK
 * when it throws (the error is rethrown as is). The connection is always returned to the pool; one whose
 * ROLLBACK failed is discarded rather than reused.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
  options: { readonly isolationLevel?: IsolationLevel } = {},
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(
      options.isolationLevel === undefined ? "BEGIN" : `BEGIN ISOLATION LEVEL ${options.isolationLevel}`,
    );
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    try {
      await client.query("ROLLBACK");
    } catch (rollbackError) {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    }
    throw error;
  } finally {
    client.release(broken);
  }
}
