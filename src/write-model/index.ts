export type { Decision } from "./aggregates";
export { decideInto, readStatement } from "./aggregates";
export { SqlBuilder } from "./sql-builder";
export type { SqlClient } from "./sql-client";
export { VersionConflict } from "./sql-client";
export type { AggregateStore, Row } from "./store";
