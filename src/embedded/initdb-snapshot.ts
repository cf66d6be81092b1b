/**
 * A cached fresh cluster for `memory://` starts. PGlite runs initdb on every new in-memory database, which is
 * most of its start-up (about 2 s of 3 s here); loading a tarball of a just-initialised data directory instead
 * takes well under a second. The first in-memory start writes the tarball (one per PGlite version) to the
 * cache directory; later starts load it. It holds only what initdb made (no schema, no data), and anything
 * wrong with it (missing, unreadable, refused by PGlite) falls back to initdb.
 */
import { mkdir, rename } from "node:fs/promises";
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

/**
 * Creates an in-memory PGlite, from the cached snapshot when there is one, else by initdb (then caches it).
 * @returns the instance and whether the snapshot was used.
 */
export async function createInMemoryPGlite(
  cacheDir?: string,
): Promise<{ db: PGlite; fromSnapshot: boolean }> {
  let path: string | undefined;
  try {
    path = await snapshotPath(cacheDir);
    const file = Bun.file(path);
    if (await file.exists()) {
      const db = await PGlite.create({
        dataDir: "memory://",
        loadDataDir: new Blob([await file.arrayBuffer()]),
      });
      return { db, fromSnapshot: true };
    }
  } catch {
    // An unusable snapshot: start from initdb, and write a new one below.
  }
  const db = await PGlite.create({ dataDir: "memory://" });
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
