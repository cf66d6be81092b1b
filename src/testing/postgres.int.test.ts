import { describe, expect, test } from "bun:test";
import pg from "pg";
import { createTestDatabase } from "./postgres";
import { ServiceUnavailableError } from "./require-service";
import { loadTestSettings } from "./settings";

async function databaseExists(name: string): Promise<boolean> {
  const admin = new pg.Client({ connectionString: loadTestSettings().databaseUrl });
  await admin.connect();
  try {
    const result = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    return result.rowCount === 1;
  } finally {
    await admin.end();
  }
}

describe("createTestDatabase", () => {
  test("creates a migrated database and drops it, even with sessions still open", async () => {
    const db = await createTestDatabase();
    expect(db.name).toMatch(/^test_[0-9a-z]+_[0-9a-f]{10}$/);
    expect(new URL(db.url).pathname).toBe(`/${db.name}`);
    const tables = await db.pool.query("SELECT 1 FROM schema_migrations");
    expect(tables.rowCount).toBeGreaterThanOrEqual(2);
    const straggler = new pg.Client({ connectionString: db.url });
    await straggler.connect();
    straggler.on("error", () => {});

    await db.drop();
    await db.drop();

    expect(await databaseExists(db.name)).toBe(false);
    await straggler.end().catch(() => {});
  });

  test("migrate: false leaves the database empty", async () => {
    const db = await createTestDatabase({ migrate: false });
    try {
      const tables = await db.pool.query(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = 'public'",
      );
      expect(tables.rowCount).toBe(0);
    } finally {
      await db.drop();
    }
  });

  test("an unreachable server is a loud error naming it (password hidden), not a skip", async () => {
    const attempt = createTestDatabase({ adminUrl: "postgres://someone:secret@127.0.0.1:1/postgres" });
    await expect(attempt).rejects.toBeInstanceOf(ServiceUnavailableError);
    await expect(
      createTestDatabase({ adminUrl: "postgres://someone:secret@127.0.0.1:1/postgres" }),
    ).rejects.toThrow("the real tier needs Postgres at postgres://someone:***@127.0.0.1:1/postgres");
  });
});
