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
 */
import { type EventSource, type EventSubscription, startDeadLetteringConsumer } from "../events";
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
  readonly batchSize?: number;
  /** How often dead letters an operator asked to retry are looked for, ms (default 1000). */
  readonly retryPollMs?: number;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** Subscribes the durable consumer `user-erasure` to `user.deleted`. */
export async function startUserErasure(options: UserErasureOptions): Promise<EventSubscription> {
  const { db } = options;
  async function handle(event: PublishedEvent): Promise<void> {
    const done = await eraseUser(db, event.aggregateId, options.batchSize);
    options.log?.("user erased", { userId: event.aggregateId, ...done });
  }
  return startDeadLetteringConsumer({
    events: options.events,
    db,
    name: USER_ERASURE,
    source: "user-erasure",
    types: ["user.deleted"],
    handle,
    ...(options.retryPollMs === undefined ? {} : { retryPollMs: options.retryPollMs }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
}
