/**
 * What crosses processes: the command envelope and its outcomes (gateway <-> worker, over any transport), the
 * caller (actor and role), consistency tokens (worker -> client -> query side), the command payload's wire form
 * and hash, and the messages between a worker's main thread and its command threads. Both sides of each
 * boundary import these from here, so no process's folder imports from another's (scripts/check-layers.ts).
 */
export type { Actor, Role } from "./actor";
export type { StreamPoint } from "./consistency-token";
export { comparePoints, decodeToken, encodeToken, ORIGIN } from "./consistency-token";
export type {
  AggregateType,
  CommandEnvelope,
  CommandHandler,
  CommandOutcome,
  CommandResultData,
  CommandSender,
} from "./envelope";
export {
  DEAD_LETTERED,
  failed,
  isDeadLettered,
  isSkipped,
  markDuplicate,
  reusedIdOutcome,
  skippedOutcome,
} from "./outcomes";
export type { WirePayload } from "./payload";
export {
  canonicalJson,
  decodeChunks,
  encodeChunks,
  fromWire,
  idsFromCommandId,
  payloadHash,
  toWire,
  uuidFrom,
} from "./payload";
export type { CommandThreadData, ThreadExecution, ThreadInput, ThreadOutput } from "./thread-messages";
