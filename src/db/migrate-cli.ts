/**
 * `bun run migrate`: applies pending migrations to DATABASE_URL and prints what it applied.
 *
 * Exit codes: 0 done (or nothing to do), 1 a migration failed or was refused, 2 bad configuration.
 */
import { ConfigError, loadConfig } from "../config";
import { migrate } from "./migrate";

async function main(): Promise<number> {
  let databaseUrl: string | undefined;
  try {
    databaseUrl = loadConfig().databaseUrl;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`migrate: ${error.message}`);
    return 2;
  }
  if (databaseUrl === undefined) {
    console.error(
      "migrate: DATABASE_URL is required, e.g. DATABASE_URL=postgres://user@127.0.0.1:5432/clone bun run migrate",
    );
    return 2;
  }
  try {
    const { applied } = await migrate(databaseUrl, { log: (message) => console.log(`migrate: ${message}`) });
    for (const name of applied) console.log(`applied ${name}`);
    if (applied.length === 0) console.log("nothing to apply; the schema is up to date");
    return 0;
  } catch (error) {
    console.error(`migrate: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

process.exit(await main());
