/**
 * Erasure of a deleted user's personal data (sql/0024_user_erasure.sql), run by the durable event consumer
 * `user-erasure` on `user.deleted`.
 *
 * Why a consumer and not the DeleteUser write: a user's data can be large (thousands of turns and events,
 * megabytes of documents), and the command's write is one statement of the worker's group commit; erasing it
 * there would make a long write transaction, which holds back the outbox relay for the whole server and the
 * partition's other commands. The consumer erases in batches of `batchSize` rows per kind, each its own short
 * transaction, and is retried with backoff and dead-lettered (source `user-erasure`) like every consumer.
 * It is idempotent: a batch touches only rows not yet erased, so a redelivered event finds nothing left.
 *
 * Data must not come back after the pass: commands on a deleted user's existing aggregates are still accepted
 * by the domain (a turn on a conversation left ACTIVE, a late processing or training result). So the consumer
 * first closes what is open, through the command path as role `service` (EndConversation for each ACTIVE
 * conversation, DeleteDocument for each live document; command ids `erasure:<aggregate id>`, so a redelivery
 * applies nothing twice): a turn or processing result after that is refused, and one committed before it is
 * erased by the pass that follows. A model's training result has no such guard (no command closes a model),
 * so the consumer also follows `*.training_failed` and erases again when the model's owner is deleted.
 *
 * Last, the copies published on the EVENTS stream are deleted (src/events/stream-eraser.ts): the messages of
 * {@link personalEventTypes} whose aggregate is one of the user's, found by a headers-only scan from the
 * user's creation.
 */
import { buildEnvelope } from "../commands/build-envelope";
import type { CommandSender } from "../contracts";
import type { DomainCommand } from "../domain";
import { AppError } from "../errors";
import {
  type EventSource,
  type EventSubscription,
  type StreamEraser,
  startDeadLetteringConsumer,
} from "../events";
import type { Logger } from "../logging";
import type { PublishedEvent } from "../outbox";
import type { SqlClient } from "../write-model";

/** The durable consumer's name, and its consumer name in `dead_letters`. */
export const USER_ERASURE = "user-erasure";

/** Rows of each kind one erasure transaction changes at most (default). */
export const DEFAULT_ERASURE_BATCH = 500;

/**
 * Erases a deleted user's personal data, one short transaction per batch, until nothing is left.
 * @returns the rows changed, and in how many transactions.
 */
export async function eraseUser(
  db: SqlClient,
  userId: string,
  batchSize = DEFAULT_ERASURE_BATCH,
): Promise<{ rows: number; batches: number }> {
  let rows = 0;
  let batches = 0;
  for (;;) {
    const res = await db.query<{ n: number }>({
      name: "erase_user_data",
      text: "SELECT erase_user_data($1, $2) AS n",
      values: [userId, batchSize],
    });
    batches++;
    const n = Number(res.rows[0]?.n ?? 0);
    if (n === 0) return { rows, batches };
    rows += n;
  }
}

/** Options of {@link startUserErasure}. */
export interface UserErasureOptions {
  readonly events: EventSource;
  readonly db: SqlClient;
  /** The command path, to close the user's open aggregates. */
  readonly sender: CommandSender;
  /** Deletes the user's messages from the EVENTS stream (absent in the embedded mode: no stream). */
  readonly stream?: StreamEraser;
  readonly batchSize?: number;
  /** How often dead letters an operator asked to retry are looked for, ms (default 1000). */
  readonly retryPollMs?: number;
  readonly log?: Logger;
}

/** The event types whose payloads carry personal data (the fields sql/0024 redacts). */
export const personalEventTypes = [
  "user.created",
  "user.profile_updated",
  "voice_model.registered",
  "voice_model.training_failed",
  "face_model.registered",
  "face_model.training_failed",
  "document.uploaded",
  "document.processing_failed",
  "conversation.turn_recorded",
];

/** Stream messages published this long before the user's creation are looked at too (clock skew). */
const STREAM_SKEW_MS = 60_000;

/**
 * The durable consumers: `user-erasure` on `user.deleted`, and one per event type after which a deleted user's
 * data may need erasing again (see the module comment). One type each, so none is sent every event.
 */
export const userErasureConsumers = [
  { name: USER_ERASURE, types: ["user.deleted"] },
  { name: `${USER_ERASURE}-late-voice`, types: ["voice_model.training_failed"] },
  { name: `${USER_ERASURE}-late-face`, types: ["face_model.training_failed"] },
] as const;

/** Subscribes the {@link userErasureConsumers}. */
export async function startUserErasure(options: UserErasureOptions): Promise<EventSubscription> {
  const { db } = options;
  const actor = { sub: USER_ERASURE, role: "service" } as const;

  /** Ends the user's ACTIVE conversations and deletes its live documents, through the command path. */
  async function closeOpenAggregates(userId: string): Promise<number> {
    const open = await db.query<{ type: "conversation" | "document"; id: string }>(
      `SELECT 'conversation' AS type, id FROM conversations WHERE user_id = $1 AND status = 'ACTIVE'
       UNION ALL
       SELECT 'document', id FROM documents WHERE user_id = $1 AND deleted_at IS NULL`,
      [userId],
    );
    for (const { type, id } of open.rows) {
      const command: DomainCommand =
        type === "conversation"
          ? { type: "EndConversation", conversationId: id }
          : { type: "DeleteDocument", documentId: id };
      const { envelope } = buildEnvelope(command, { commandId: `erasure:${id}`, actor });
      const outcome = await options.sender.send(envelope);
      // NOT_FOUND / FAILED_PRECONDITION: closed meanwhile (by the user, or by an earlier delivery).
      if (!outcome.ok && !["NOT_FOUND", "FAILED_PRECONDITION"].includes(outcome.error.code)) {
        throw AppError.deserialize(outcome.error);
      }
    }
    return open.rows.length;
  }

  /** Deletes the user's messages of {@link personalEventTypes} from the EVENTS stream. */
  async function eraseFromStream(userId: string) {
    if (!options.stream) return {};
    const res = await db.query<{ id: string; created_at: Date }>(
      `SELECT id, created_at FROM users WHERE id = $1
       UNION ALL SELECT id, created_at FROM voice_models WHERE user_id = $1
       UNION ALL SELECT id, created_at FROM face_models WHERE user_id = $1
       UNION ALL SELECT id, uploaded_at FROM documents WHERE user_id = $1
       UNION ALL SELECT id, started_at FROM conversations WHERE user_id = $1`,
      [userId],
    );
    const since = Math.min(...res.rows.map((r) => r.created_at.getTime())) - STREAM_SKEW_MS;
    const { scanned, deleted } = await options.stream.erase(
      res.rows.map((r) => r.id),
      personalEventTypes,
      new Date(since),
    );
    return { streamScanned: scanned, streamDeleted: deleted };
  }

  async function handle(event: PublishedEvent): Promise<void> {
    if (event.type === "user.deleted") {
      const closed = await closeOpenAggregates(event.aggregateId);
      const done = await eraseUser(db, event.aggregateId, options.batchSize);
      const stream = await eraseFromStream(event.aggregateId);
      options.log?.info({ userId: event.aggregateId, closed, ...done, ...stream }, "user erased");
      return;
    }
    const owner = event.data.userId;
    if (typeof owner !== "string") return;
    const res = await db.query<{ deleted: boolean }>(
      "SELECT deleted_at IS NOT NULL AS deleted FROM users WHERE id = $1",
      [owner],
    );
    if (res.rows[0]?.deleted !== true) return;
    const done = await eraseUser(db, owner, options.batchSize);
    const stream = await eraseFromStream(owner);
    options.log?.info(
      { userId: owner, eventType: event.type, ...done, ...stream },
      "deleted user's late data erased",
    );
  }

  return startDeadLetteringConsumer({
    events: options.events,
    db,
    consumers: userErasureConsumers,
    source: "user-erasure",
    handle,
    ...(options.retryPollMs === undefined ? {} : { retryPollMs: options.retryPollMs }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
}
