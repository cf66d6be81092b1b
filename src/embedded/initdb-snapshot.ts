/**
 * A cached fresh cluster for new databases. PGlite runs initdb on every new in-memory database and on every
 * new data directory, which is most of its start-up (about 2 s of 3 s in memory here; 11 s for a directory,
 * and up to ~40 s on a busy machine); loading a tarball of a just-initialised data directory instead takes
 * well under a second in memory and about 3 s into a directory. The first new database writes the tarball
 * (one per PGlite version) to the cache directory; later ones load it. It holds only what initdb made (no
 * schema, no data), and anything wrong with it (missing, unreadable, refused by PGlite) falls back to initdb.
 * A data directory that already holds a cluster is opened as it is.
 */
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PGlite } from "@electric-sql/pglite";

/** The PGlite package version, which keys the snapshot (a data directory only fits its own build). */
async function pgliteVersion(): Promise<string> {
  const entry = Bun.resolveSync("@electric-sql/pglite", import.meta.dir);
  const manifest = (await Bun.file(join(dirname(entry), "..", "package.json")).json()) as {
    version?: string;
  };
  return manifest.version ?? "unknown";
}

/** Where the snapshot of this PGlite version lives in `cacheDir`. */
export async function snapshotPath(cacheDir: string = tmpdir()): Promise<string> {
  return join(cacheDir, `clone-pglite-${await pgliteVersion()}-initdb.tar`);
}

/** True for `memory://` and for a directory that does not exist yet or is empty (PGlite will run initdb). */
async function isNewDatabase(dataDir: string): Promise<boolean> {
  if (dataDir === "memory://") return true;
  try {
    return (await readdir(dataDir)).length === 0;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ENOENT";
  }
}

/**
 * Creates a PGlite on `dataDir` (`memory://` or a directory). A new database starts from the cached snapshot
 * when there is one, else by initdb (then caches it); an existing data directory is opened as it is.
 * @returns the instance and whether the snapshot was used.
 */
export async function createPGlite(
  dataDir: string,
  cacheDir?: string,
): Promise<{ db: PGlite; fromSnapshot: boolean }> {
  if (!(await isNewDatabase(dataDir))) return { db: await PGlite.create({ dataDir }), fromSnapshot: false };
  let path: string | undefined;
  try {
    path = await snapshotPath(cacheDir);
    const file = Bun.file(path);
    if (await file.exists()) {
      const db = await PGlite.create({ dataDir, loadDataDir: new Blob([await file.arrayBuffer()]) });
      return { db, fromSnapshot: true };
    }
  } catch {
    // An unusable snapshot: start from initdb, and write a new one below.
    if (dataDir !== "memory://") await rm(dataDir, { recursive: true, force: true }).catch(() => {});
  }
  const db = await PGlite.create({ dataDir });
  if (path !== undefined) await writeSnapshot(db, path).catch(() => {});
  return { db, fromSnapshot: false };
}

/** Writes the snapshot next to its final name, then renames it (a concurrent start never reads half a file). */
async function writeSnapshot(db: PGlite, path: string): Promise<void> {
  const dump = await db.dumpDataDir("none");
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.${process.pid}.partial`;
  await Bun.write(partial, dump);
  await rename(partial, path);
}
