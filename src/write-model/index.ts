/**
 * The write model: each aggregate's tables, and the two round trips of a command batch (batch-read.ts,
 * batch-write.ts), the stored command results, and what write errors mean. The worker's executor
 * (src/actors/executor.ts) orchestrates these; it writes no SQL of its own.
 */
export type { Decision } from "./aggregates";
export { decideInto, expectVersion } from "./aggregates";
export type { AggregateRead, CommandKey, CommandRead } from "./batch-read";
export { KNOWN_AGGREGATE, readCommands } from "./batch-read";
export type { WrittenPart } from "./batch-write";
export { appendEvents, claimBlob, finishPart, partBuilder, storeResult, writeParts } from "./batch-write";
export type { CombinedStatement, StatementPart } from "./combined-statement";
export { combineParts, MAX_PREPARED_PARTS, PART_SCOPE } from "./combined-statement";
export type { StoredOutcome } from "./command-results";
export {
  findStoredOutcome,
  storableOutcome,
  storedOutcomeOf,
  storeOutcome,
  tokenOf,
} from "./command-results";
export { SqlBuilder } from "./sql-builder";
export type { SqlClient } from "./sql-client";
export { VersionConflict } from "./sql-client";
export type { AggregateStore, Row } from "./store";
export { mapWriteError } from "./write-errors";
