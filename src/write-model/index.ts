export type { Decision } from "./aggregates";
export { decideInto, expectVersion, readStatement } from "./aggregates";
export type { CombinedStatement, StatementPart } from "./combined-statement";
export { combineParts, MAX_PREPARED_PARTS, PART_SCOPE } from "./combined-statement";
export { SqlBuilder } from "./sql-builder";
export type { SqlClient } from "./sql-client";
export { VersionConflict } from "./sql-client";
export type { AggregateStore, Row } from "./store";
