/**
 * The embedded Postgres itself: the initdb snapshot for in-memory starts, a data directory that persists
 * across restarts, and pglite-socket behind a one-connection pool.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { migrate } from "../db";
import { startEmbeddedDatabase } from "./database";
import { snapshotPath } from "./initdb-snapshot";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "embedded-db-"));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe("embedded database", () => {
  test("an in-memory start writes the initdb snapshot once, later starts load it, a bad one is replaced", async () => {
    const cache = await tempDir();
    const first = await startEmbeddedDatabase({ snapshotCacheDir: cache });
    expect(first.fromSnapshot).toBe(false);
    await first.pool.query("CREATE TABLE only_here (id int)");
    await first.stop();

    const second = await startEmbeddedDatabase({ snapshotCacheDir: cache });
    expect(second.fromSnapshot).toBe(true);
    const tables = await second.pool.query("SELECT 1 FROM pg_tables WHERE tablename = 'only_here'");
    expect(tables.rowCount).toBe(0);
    await second.stop();

    await writeFile(await snapshotPath(cache), "not a tarball");
    const third = await startEmbeddedDatabase({ snapshotCacheDir: cache });
    expect(third.fromSnapshot).toBe(false);
    expect((await third.pool.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    await third.stop();
    const fourth = await startEmbeddedDatabase({ snapshotCacheDir: cache });
    expect(fourth.fromSnapshot).toBe(true);
    await fourth.stop();
  }, 60_000);

  test("a data directory keeps the schema and the data across restarts", async () => {
    const dataDir = join(await tempDir(), "pgdata");
    const first = await startEmbeddedDatabase({ dataDir });
    expect((await migrate(first.pool)).applied.length).toBeGreaterThanOrEqual(3);
    const id = crypto.randomUUID();
    await first.pool.query(
      "INSERT INTO users (id, email, display_name, version) VALUES ($1, 'p@example.com', 'P', 1)",
      [id],
    );
    await first.stop();

    const second = await startEmbeddedDatabase({ dataDir });
    expect((await migrate(second.pool)).applied).toEqual([]);
    const rows = await second.pool.query("SELECT email FROM users WHERE id = $1", [id]);
    expect(rows.rows).toEqual([{ email: "p@example.com" }]);
    await second.stop();
  }, 60_000);

  test("a new data directory starts from the snapshot, and one that holds a cluster is opened as it is", async () => {
    const cache = await tempDir();
    const dataDir = join(await tempDir(), "pgdata");
    const first = await startEmbeddedDatabase({ dataDir, snapshotCacheDir: cache });
    expect(first.fromSnapshot).toBe(false);
    await first.pool.query("CREATE TABLE kept (id int)");
    await first.stop();
    expect(await Bun.file(await snapshotPath(cache)).exists()).toBe(true);

    const reopened = await startEmbeddedDatabase({ dataDir, snapshotCacheDir: cache });
    expect(reopened.fromSnapshot).toBe(false);
    expect((await reopened.pool.query("SELECT 1 FROM pg_tables WHERE tablename = 'kept'")).rowCount).toBe(1);
    await reopened.stop();

    const other = join(await tempDir(), "pgdata");
    const fresh = await startEmbeddedDatabase({ dataDir: other, snapshotCacheDir: cache });
    expect(fresh.fromSnapshot).toBe(true);
    expect((await fresh.pool.query("SELECT 1 FROM pg_tables WHERE tablename = 'kept'")).rowCount).toBe(0);
    await fresh.pool.query("CREATE TABLE mine (id int)");
    await fresh.stop();
    const again = await startEmbeddedDatabase({ dataDir: other, snapshotCacheDir: cache });
    expect(again.fromSnapshot).toBe(false);
    expect((await again.pool.query("SELECT 1 FROM pg_tables WHERE tablename = 'mine'")).rowCount).toBe(1);
    await again.stop();
  }, 90_000);

  test("the one pooled connection serves concurrent callers in turn; transactions never mix", async () => {
    const db = await startEmbeddedDatabase({ snapshotCacheDir: await tempDir() });
    try {
      await db.pool.query("CREATE TABLE counter (n int NOT NULL)");
      await db.pool.query("INSERT INTO counter VALUES (0)");
      const increments = Array.from({ length: 20 }, async () => {
        const client = await db.pool.connect();
        try {
          await client.query("BEGIN");
          const { rows } = await client.query<{ n: number }>("SELECT n FROM counter");
          await Bun.sleep(1);
          await client.query("UPDATE counter SET n = $1", [(rows[0]?.n ?? 0) + 1]);
          await client.query("COMMIT");
        } finally {
          client.release();
        }
      });
      const failing = Array.from({ length: 5 }, () => db.pool.query("SELECT 1/0").catch(() => "failed"));
      expect(await Promise.all(failing)).toEqual(Array(5).fill("failed"));
      await Promise.all(increments);
      expect((await db.pool.query("SELECT n FROM counter")).rows).toEqual([{ n: 20 }]);

      const outsider = new pg.Client({
        host: db.host,
        port: db.port,
        user: "postgres",
        database: "postgres",
      });
      await outsider.connect();
      expect((await outsider.query("SELECT 2 AS two")).rows).toEqual([{ two: 2 }]);
      await outsider.end();
    } finally {
      await db.stop();
    }
  }, 60_000);
});
