/**
 * The write model: the two round trips of a command batch (batch-read.ts,
 * batch-write.ts), the stored command results, and what write errors mean. The worker's executor
 * (src/actors/executor.ts) orchestrates these; it writes no SQL of its own. Each aggregate's tables are its
 * definition's store (src/domain/<aggregate>/store.ts); the SQL toolkit is src/db's, re-exported here.
 */

export type { AggregateStore, Row } from "../db/aggregate-store";
export type { CombinedStatement, StatementPart } from "../db/combined-statement";
export { combineParts, MAX_PREPARED_PARTS, PART_SCOPE } from "../db/combined-statement";
export { SqlBuilder } from "../db/sql-builder";
export type { SqlClient } from "../db/sql-client";
export { VersionConflict } from "../db/sql-client";
export type { Decision } from "./aggregates";
export { decideInto, expectVersion } from "./aggregates";
export type { AggregateRead, CommandKey, CommandRead } from "./batch-read";
export { KNOWN_AGGREGATE, readCommands } from "./batch-read";
export type { WrittenPart } from "./batch-write";
export { appendEvents, claimBlob, finishPart, partBuilder, storeResult, writeParts } from "./batch-write";
export type { StoredOutcome, StoredOutcomeJson } from "./command-results";
export {
  findStoredOutcome,
  storableOutcome,
  storedForThisDelivery,
  storedOutcomeOf,
  storeOutcome,
  tokenOf,
} from "./command-results";
export type { OwnerLookup } from "./owners";
export { createOwnerLookup } from "./owners";
export { mapWriteError } from "./write-errors";
