/**
 * Reading migration files: `NNNN_name.sql`, ordered by the number, each with a checksum.
 *
 * Kept apart from the runner so a build that cannot read files at run time (a compiled binary embedding
 * the SQL as text) can hand the runner its {@link Migration} list directly.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's `sql/` folder, resolved from this file so the working directory does not matter. */
export const defaultMigrationsDir: string = fileURLToPath(new URL("../../sql/", import.meta.url));

/** One migration file. */
export interface Migration {
  /** The numeric prefix, e.g. 2 for `0002_command_path.sql`; unique. */
  readonly version: number;
  /** The file name, e.g. `0002_command_path.sql`. */
  readonly name: string;
  /** The SQL, run as one simple-protocol query inside a transaction. */
  readonly sql: string;
  /** sha256 (hex) of the SQL with line endings normalised to `\n`. */
  readonly checksum: string;
}

/** A migration set or history that cannot be applied safely; nothing is applied when it is thrown. */
export class MigrationError extends Error {
  override readonly name = "MigrationError";
}

const fileNamePattern = /^(\d+)_([a-z0-9_]+)\.sql$/;

/** The checksum recorded for a migration: sha256 hex of its text with CRLF turned into LF. */
export function checksumOf(sql: string): string {
  return createHash("sha256").update(sql.replace(/\r\n/g, "\n")).digest("hex");
}

/** Builds a {@link Migration} from a file name and its text. */
export function toMigration(name: string, sql: string): Migration {
  const match = fileNamePattern.exec(name);
  if (match === null) {
    throw new MigrationError(`migration file name "${name}" does not match NNNN_lower_snake_name.sql`);
  }
  const version = Number(match[1]);
  if (!Number.isSafeInteger(version) || version < 1 || version > 2_147_483_647) {
    throw new MigrationError(`migration "${name}": the numeric prefix must be between 1 and 2147483647`);
  }
  return { version, name, sql, checksum: checksumOf(sql) };
}

/**
 * Sorts migrations by version.
 * @throws MigrationError when two share a version.
 */
export function sortMigrations(migrations: readonly Migration[]): Migration[] {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1]!;
    const current = sorted[i]!;
    if (previous.version === current.version) {
      throw new MigrationError(
        `migrations "${previous.name}" and "${current.name}" share version ${current.version}`,
      );
    }
  }
  return sorted;
}

/**
 * Reads every `*.sql` file of `dir` (default: the repository's `sql/`), sorted by numeric prefix.
 * @throws MigrationError for a badly named `.sql` file or a duplicate version.
 */
export async function loadMigrations(dir: string = defaultMigrationsDir): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(".sql"));
  const migrations = await Promise.all(
    names.map(async (name) => toMigration(name, await readFile(join(dir, name), "utf8"))),
  );
  return sortMigrations(migrations);
}
