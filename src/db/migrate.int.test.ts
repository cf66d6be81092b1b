import { afterAll, describe, expect, test } from "bun:test";
import { cp, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { createTestDatabase, type TestDatabase } from "../testing";
import { MIGRATION_LOCK_KEY, migrate } from "./migrate";
import { defaultMigrationsDir, MigrationError } from "./migrations";

const created: TestDatabase[] = [];
const tempDirs: string[] = [];

/** A fresh database with no tables at all. */
async function emptyDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase({ migrate: false, poolMax: 2 });
  created.push(db);
  return db;
}

/** A copy of sql/ that a test may change. */
async function copyOfSqlDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "migrations-"));
  tempDirs.push(dir);
  await cp(defaultMigrationsDir, dir, { recursive: true });
  return dir;
}

async function tableNames(pool: pg.Pool): Promise<string[]> {
  const result = await pool.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
  );
  return result.rows.map((r) => r.table_name);
}

async function migrationRows(pool: pg.Pool): Promise<{ version: number; name: string }[]> {
  const result = await pool.query<{ version: number; name: string }>(
    "SELECT version, name FROM schema_migrations ORDER BY version",
  );
  return result.rows;
}

const sqlFiles = (await readdir(defaultMigrationsDir)).filter((n) => n.endsWith(".sql")).sort();

afterAll(async () => {
  await Promise.all(created.map((db) => db.drop()));
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe("migrate", () => {
  test("applies every file once on an empty database, then nothing", async () => {
    const db = await emptyDatabase();
    expect(await tableNames(db.pool)).toEqual([]);
    const lines: string[] = [];

    const first = await migrate(db.url, { log: (line) => lines.push(line) });

    expect(sqlFiles.length).toBeGreaterThanOrEqual(2);
    expect(first.applied).toEqual(sqlFiles);
    expect(lines).toContain(`applying ${sqlFiles[0]}`);
    expect(await tableNames(db.pool)).toEqual(
      expect.arrayContaining([
        "command_results",
        "conversations",
        "document_chunks",
        "documents",
        "events",
        "face_models",
        "outbox_relay_state",
        "schema_migrations",
        "turns",
        "users",
        "voice_models",
      ]),
    );
    expect((await migrationRows(db.pool)).map((r) => r.name)).toEqual(sqlFiles);

    const second = await migrate(db.url);
    expect(second.applied).toEqual([]);
  });

  test("two concurrent runs on separate connections apply each file exactly once", async () => {
    const db = await emptyDatabase();
    const a = new pg.Client({ connectionString: db.url });
    const b = new pg.Client({ connectionString: db.url });
    await Promise.all([a.connect(), b.connect()]);
    try {
      const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
      expect([...ra.applied, ...rb.applied].sort()).toEqual(sqlFiles);
      expect(ra.applied.length === 0 || rb.applied.length === 0).toBe(true);
      expect((await migrationRows(db.pool)).map((r) => r.name)).toEqual(sqlFiles);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  test("waits while another session holds the migration lock", async () => {
    const db = await emptyDatabase();
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
      const lines: string[] = [];
      let done = false;
      const run = migrate(db.url, { log: (line) => lines.push(line) }).finally(() => {
        done = true;
      });
      await Bun.sleep(300);
      expect(done).toBe(false);
      expect(lines).toContain("another migration run holds the lock; waiting");
      await holder.query("SELECT pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY]);
      expect((await run).applied).toEqual(sqlFiles);
    } finally {
      await holder.end();
    }
  });

  test("works on one already-open client, leaving it open and unlocked", async () => {
    const db = await emptyDatabase();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      expect((await migrate(client)).applied).toEqual(sqlFiles);
      const locks = await client.query(
        "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted",
      );
      expect(locks.rowCount).toBe(0);
      expect((await migrate(client)).applied).toEqual([]);
      expect(MIGRATION_LOCK_KEY).toMatch(/^\d+$/);
    } finally {
      await client.end();
    }
  });

  test("works through a pool", async () => {
    const db = await emptyDatabase();
    expect((await migrate(db.pool)).applied).toEqual(sqlFiles);
  });

  test("refuses a file edited after it was applied, applying nothing", async () => {
    const db = await emptyDatabase();
    const dir = await copyOfSqlDir();
    await migrate(db.url, { dir });
    await writeFile(join(dir, sqlFiles[0]!), "-- edited\nSELECT 1;\n", { flag: "a" });
    await writeFile(join(dir, "9001_later.sql"), "CREATE TABLE later (id int);\n");

    const run = migrate(db.url, { dir });

    await expect(run).rejects.toBeInstanceOf(MigrationError);
    await expect(migrate(db.url, { dir })).rejects.toThrow(/changed since they were applied: 0001_/);
    expect(await tableNames(db.pool)).not.toContain("later");
  });

  test("applies a new file later, and rolls a failing one back without recording it", async () => {
    const db = await emptyDatabase();
    const dir = await copyOfSqlDir();
    await migrate(db.url, { dir });
    await writeFile(join(dir, "9001_later.sql"), "CREATE TABLE later (id int);\n");
    await writeFile(
      join(dir, "9002_broken.sql"),
      "CREATE TABLE half (id int);\nSELECT no_such_function();\n",
    );

    const run = migrate(db.url, { dir });

    await expect(run).rejects.toThrow(/9002_broken\.sql failed and was rolled back/);
    const tables = await tableNames(db.pool);
    expect(tables).toContain("later");
    expect(tables).not.toContain("half");
    const names = (await migrationRows(db.pool)).map((r) => r.name);
    expect(names).toContain("9001_later.sql");
    expect(names).not.toContain("9002_broken.sql");
  });

  test("refuses badly named files and duplicate versions", async () => {
    const db = await emptyDatabase();
    const dir = await copyOfSqlDir();
    await writeFile(join(dir, "Oops.sql"), "SELECT 1;\n");
    await expect(migrate(db.url, { dir })).rejects.toThrow(/does not match/);
    await rm(join(dir, "Oops.sql"));
    await writeFile(join(dir, "0001_again.sql"), "SELECT 1;\n");
    await expect(migrate(db.url, { dir })).rejects.toThrow(/share version 1/);
    expect(await tableNames(db.pool)).toEqual([]);
  });
});
