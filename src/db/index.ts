export type { MigrateOptions, MigrateResult, MigrationTarget } from "./migrate";
export { MIGRATION_LOCK_KEY, migrate } from "./migrate";
export type { Migration } from "./migrations";
export {
  checksumOf,
  defaultMigrationsDir,
  loadMigrations,
  MigrationError,
  sortMigrations,
  toMigration,
} from "./migrations";
export type { IsolationLevel, PoolOptions } from "./pool";
export { createPool, GENERIC_PLANS_OPTION, withTransaction } from "./pool";
