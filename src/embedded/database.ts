/**
 * The embedded Postgres: PGlite (Postgres compiled to WebAssembly, in this process) served on the Postgres
 * wire protocol by pglite-socket on 127.0.0.1 and a free port, so that the same `pg` code as on the real tier
 * (migrations, executor, relay SQL, document processor, gateway lookups) runs unchanged.
 *
 * Why one connection. PGlite is a single Postgres backend. pglite-socket refuses connections past its
 * `maxConnections` ("Too many connections"), and above one it multiplexes them message by message, which
 * mixes up concurrent extended-protocol queries and shares one transaction between connections. So everything
 * goes through ONE `pg.Pool` with `max: 1`: at most one connection is ever in use, and transactions are
 * naturally serialised. The server still allows a few connections, because pg.Pool throws a connection away
 * after any failed `pool.query` and opens the next one while the server may not have seen the old one close
 * yet; only one of them is ever in use.
 */
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import pg from "pg";
import { createPGlite } from "./initdb-snapshot";

/** Options of {@link startEmbeddedDatabase}. */
export interface EmbeddedDatabaseOptions {
  /** `memory://` (default) or a directory, where the data persists across restarts. */
  readonly dataDir?: string;
  /** How long a query may wait for the one connection, ms. Default 30000. */
  readonly acquireTimeoutMs?: number;
  /**
   * For a new database (`memory://`, or a directory that is missing or empty): where the cached initdb
   * snapshot lives (see initdb-snapshot.ts), or false to always run initdb. Default the system's temporary
   * directory.
   */
  readonly snapshotCacheDir?: string | false;
  /** Called when the idle connection fails. Default: ignored (the next query opens a new one). */
  readonly onIdleError?: (error: Error) => void;
}

/** A running embedded Postgres and the one-connection pool to it. */
export interface EmbeddedDatabase {
  /** The pool every embedded component shares (`max: 1`). */
  readonly pool: pg.Pool;
  /** Where pglite-socket listens. */
  readonly host: string;
  readonly port: number;
  /** Where PGlite keeps its data. */
  readonly dataDir: string;
  /** How long PGlite took to start, ms (WebAssembly compile, and initdb for a new data directory). */
  readonly startMs: number;
  /** True when a new database loaded the cached initdb snapshot instead of running initdb. */
  readonly fromSnapshot: boolean;
  /** Ends the pool, then the socket server, then PGlite (flushing a data directory). */
  stop(): Promise<void>;
}

/** Connections pglite-socket accepts; see the module comment for why more than one. */
const SOCKET_MAX_CONNECTIONS = 4;

/** Starts PGlite and its socket server, and a one-connection pool to it. */
export async function startEmbeddedDatabase(
  options: EmbeddedDatabaseOptions = {},
): Promise<EmbeddedDatabase> {
  const dataDir = options.dataDir ?? "memory://";
  const started = performance.now();
  const { db, fromSnapshot } =
    options.snapshotCacheDir !== false
      ? await createPGlite(dataDir, options.snapshotCacheDir)
      : { db: await PGlite.create({ dataDir }), fromSnapshot: false };
  const startMs = Math.round(performance.now() - started);
  const server = new PGLiteSocketServer({
    db,
    host: "127.0.0.1",
    port: 0,
    maxConnections: SOCKET_MAX_CONNECTIONS,
  });
  try {
    await server.start();
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
  const [host = "127.0.0.1", portText = ""] = server.getServerConn().split(":");
  const port = Number(portText);
  const pool = new pg.Pool({
    host,
    port,
    user: "postgres",
    database: "postgres",
    max: 1,
    idleTimeoutMillis: 0,
    connectionTimeoutMillis: options.acquireTimeoutMs ?? 30_000,
    application_name: "clone-embedded",
  });
  pool.on("error", options.onIdleError ?? (() => {}));
  // PGlite is ONE backend session behind every socket connection: a statement prepared by name on a
  // connection the pool has since replaced would still exist there, and preparing it again fails. So the
  // embedded pool never names its statements (the real tier prepares hot statements once per connection).
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (config: unknown, ...rest: unknown[]) =>
      query(
        typeof config === "object" && config !== null && "name" in config
          ? { ...config, name: undefined }
          : config,
        ...rest,
      );
  });

  let stopped: Promise<void> | undefined;
  return {
    pool,
    host,
    port,
    dataDir,
    startMs,
    fromSnapshot,
    stop() {
      stopped ??= (async () => {
        await pool.end().catch(() => {});
        await server.stop().catch(() => {});
        await db.close();
      })();
      return stopped;
    },
  };
}
