/**
 * A fresh database per test file (as Emmett does): created on the test server, migrated, dropped
 * `WITH (FORCE)` afterwards, so files never see each other's rows and may run in parallel.
 *
 * ```ts
 * let db: TestDatabase;
 * beforeAll(async () => { db = await createTestDatabase(); });
 * afterAll(() => db.drop());
 * ```
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { migrate } from "../db/migrate";
import { createPool } from "../db/pool";
import { requireService } from "./require-service";
import { loadTestSettings } from "./settings";

/** A database owned by one test file. */
export interface TestDatabase {
  /** The database name, `test_<time>_<random>`. */
  readonly name: string;
  /** A connection string for it (the admin URL with this database). */
  readonly url: string;
  /** A pool on it (at most `poolMax` connections). */
  readonly pool: pg.Pool;
  /** Closes the pool and drops the database, ending any other session on it. Safe to call twice. */
  drop(): Promise<void>;
}

/** Options of {@link createTestDatabase}. */
export interface TestDatabaseOptions {
  /** A server URL with the right to CREATE DATABASE; default `loadTestSettings().databaseUrl`. */
  readonly adminUrl?: string;
  /** Apply the migrations of `sql/`; default true. False leaves the database empty. */
  readonly migrate?: boolean;
  /** Pool size; default 5. */
  readonly poolMax?: number;
}

/**
 * Creates, and by default migrates, a uniquely named database.
 * @throws ServiceUnavailableError when the test server cannot be reached.
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const adminUrl = options.adminUrl ?? loadTestSettings().databaseUrl;
  const name = `test_${Date.now().toString(36)}_${randomBytes(5).toString("hex")}`;
  await withAdmin(adminUrl, (admin) => admin.query(`CREATE DATABASE ${quoteIdent(name)}`));
  const url = databaseUrl(adminUrl, name);
  const dropDatabase = () =>
    withAdmin(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
  if (options.migrate ?? true) {
    try {
      await migrate(url);
    } catch (error) {
      await dropDatabase().catch(() => {});
      throw error;
    }
  }
  const pool = createPool(url, { max: options.poolMax ?? 5, applicationName: `test:${name}` });
  let dropped: Promise<void> | undefined;
  return {
    name,
    url,
    pool,
    drop() {
      dropped ??= (async () => {
        await pool.end();
        await dropDatabase();
      })();
      return dropped;
    },
  };
}

/** `adminUrl` pointing at database `name` instead, query parameters (sslmode, ...) kept. */
function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

async function withAdmin<T>(adminUrl: string, fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({
    connectionString: adminUrl,
    application_name: "test-admin",
    connectionTimeoutMillis: 5_000,
  });
  await requireService("Postgres", adminUrl, () => admin.connect());
  try {
    return await fn(admin);
  } finally {
    await admin.end().catch(() => {});
  }
}
