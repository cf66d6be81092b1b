export type { Decision } from "./aggregates";
export { decideAndSave } from "./aggregates";
export type { SqlClient } from "./sql-client";
export { VersionConflict } from "./sql-client";
