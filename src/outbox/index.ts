export type { BatchRow, OutboxRow } from "./outbox-row";
export { batchRows, checkpointOf, toPublishedEvent } from "./outbox-row";
export type { PooledOutboxRelayOptions } from "./pooled-relay";
export { startPooledOutboxRelay } from "./pooled-relay";
export type { BatchResult, PublishBatchOptions } from "./publish-batch";
export { publishBatch } from "./publish-batch";
export type { PublishedEvent, PublishedEventFields } from "./published-event";
export {
  createPublishedEvent,
  decodePublishedEvent,
  encodePublishedEvent,
  PUBLISHED_EVENT_HEADERS,
  pointOfPublishedEvent,
  publishedEventHeaderValues,
} from "./published-event";
export type { OutboxRelay, OutboxRelayOptions } from "./relay";
export { startOutboxRelay } from "./relay";
export { OUTBOX_CHANNEL } from "./relay-session";
export type { EventPublisher } from "./round";
export type { SqlQuery } from "./sql";
export {
  ADVANCE_CHECKPOINT_SQL,
  advanceCheckpointQuery,
  ENSURE_CHECKPOINT_SQL,
  READ_CHECKPOINT_SQL,
  SELECT_BATCH_SQL,
  selectBatchQuery,
  TRY_LOCK_SQL,
} from "./sql";
