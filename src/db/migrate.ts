/**
 * The migration runner: applies `sql/NNNN_*.sql` files in order, each once, each in its own transaction.
 *
 * Why a session-level advisory lock: several service instances (or a test and a CLI) may start at once.
 * The first takes the lock and migrates; the others wait on it, then find nothing pending. The lock is taken
 * on the very connection that applies the files, so the runner also works on one already-open connection
 * (PGlite behind pglite-socket accepts only one), and it is released in `finally` so a shared connection is
 * left as it was found. Applied files are recorded with a checksum; a file edited after it was applied is
 * refused, since its edit would never reach databases that already ran it.
 */
import pg from "pg";
import { loadMigrations, type Migration, MigrationError, sortMigrations } from "./migrations";

/** Where to migrate: a connection string (a connection is opened and closed), an open client, or a pool. */
export type MigrationTarget = string | pg.ClientBase | pg.Pool;

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** Folder of the `.sql` files; default the repository's `sql/`. Ignored when `migrations` is given. */
  readonly dir?: string;
  /** The migrations themselves, instead of reading `dir`. */
  readonly migrations?: readonly Migration[];
  /** Receives one line per step (waiting for the lock, applying a file, ...). Default: silent. */
  readonly log?: (message: string) => void;
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** File names applied by this run, in order; empty when the database was up to date. */
  readonly applied: string[];
}

/** The `pg_advisory_lock` key that serialises migration runs on one database (any constant would do). */
export const MIGRATION_LOCK_KEY = "7306215948115301";

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

/**
 * Applies every pending migration.
 *
 * With an open client, the client must not be inside a transaction; it stays open and unlocked afterwards.
 * Safe to run concurrently from several processes: the later ones wait, then apply nothing.
 * @throws MigrationError when an applied file's checksum changed (nothing is applied then), when files are
 *   badly named, or when a migration fails (that one is rolled back; earlier ones of the run stay applied).
 */
export async function migrate(target: MigrationTarget, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations =
    options.migrations === undefined ? await loadMigrations(options.dir) : sortMigrations(options.migrations);
  const log = options.log ?? (() => {});
  return withClient(target, (client) => migrateLocked(client, migrations, log));
}

async function withClient<T>(target: MigrationTarget, fn: (client: pg.ClientBase) => Promise<T>): Promise<T> {
  if (typeof target === "string") {
    const client = new pg.Client({ connectionString: target, application_name: "clone-migrate" });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => {});
    }
  }
  if (isPool(target)) {
    const client = await target.connect();
    try {
      return await fn(client);
    } finally {
      client.release();
    }
  }
  return fn(target);
}

function isPool(target: pg.ClientBase | pg.Pool): target is pg.Pool {
  return "totalCount" in target && "idleCount" in target;
}

async function migrateLocked(
  client: pg.ClientBase,
  migrations: readonly Migration[],
  log: (message: string) => void,
): Promise<MigrateResult> {
  const locked = await client.query<{ locked: boolean }>(
    "SELECT pg_try_advisory_lock($1::bigint) AS locked",
    [MIGRATION_LOCK_KEY],
  );
  if (locked.rows[0]?.locked !== true) {
    log("another migration run holds the lock; waiting");
    await client.query("SELECT pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
  }
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer     PRIMARY KEY,
      name       text        NOT NULL,
      checksum   text        NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const pending = pendingMigrations(migrations, await appliedMigrations(client), log);
    const applied: string[] = [];
    for (const migration of pending) {
      log(`applying ${migration.name}`);
      await applyOne(client, migration);
      applied.push(migration.name);
    }
    log(applied.length === 0 ? "schema is up to date" : `applied ${applied.length} migration(s)`);
    return { applied };
  } finally {
    await client.query("SELECT pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY]).catch(() => {});
  }
}

async function appliedMigrations(client: pg.ClientBase): Promise<Map<number, AppliedRow>> {
  const result = await client.query<AppliedRow>(
    "SELECT version, name, checksum FROM schema_migrations ORDER BY version",
  );
  return new Map(result.rows.map((row) => [row.version, row]));
}

/** The migrations not applied yet, after checking that none applied has changed. */
function pendingMigrations(
  migrations: readonly Migration[],
  applied: ReadonlyMap<number, AppliedRow>,
  log: (message: string) => void,
): Migration[] {
  const known = new Set(migrations.map((m) => m.version));
  for (const row of applied.values()) {
    if (!known.has(row.version)) log(`applied migration ${row.name} has no file here (newer code ran?)`);
  }
  const changed = migrations.filter((m) => {
    const row = applied.get(m.version);
    return row !== undefined && row.checksum !== m.checksum;
  });
  if (changed.length > 0) {
    const names = changed.map((m) => m.name).join(", ");
    throw new MigrationError(
      `applied migration(s) changed since they were applied: ${names}; add a new migration instead of editing one`,
    );
  }
  return migrations.filter((m) => !applied.has(m.version));
}

async function applyOne(client: pg.ClientBase, migration: Migration): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query(migration.sql);
    await client.query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", [
      migration.version,
      migration.name,
      migration.checksum,
    ]);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    const reason = error instanceof Error ? error.message : String(error);
    throw new MigrationError(`migration ${migration.name} failed and was rolled back: ${reason}`, {
      cause: error,
    });
  }
}
