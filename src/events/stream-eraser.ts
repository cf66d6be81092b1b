/**
 * Erasing an aggregate's messages from the EVENTS stream. JetStream purges only by subject, and subjects are
 * per event type, so one aggregate's messages are found by a scan: a headers-only ordered consumer over the
 * given event types from a start time, matching the `Clone-Aggregate-Id` header the relay sets, each match
 * deleted with `erase` (its bytes overwritten, not only unlinked). Used by the erasure of a deleted user.
 */
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { PUBLISHED_EVENT_HEADERS } from "../outbox";
import { streamNames } from "../transport/jetstream/streams";

/** Deletes the stream's messages of some aggregates. */
export interface StreamEraser {
  /**
   * Deletes the messages of `types` whose aggregate is one of `aggregateIds`, published at or after `since`.
   * @returns how many messages were read (headers only) and how many deleted.
   */
  erase(
    aggregateIds: readonly string[],
    types: readonly string[],
    since: Date,
  ): Promise<{ scanned: number; deleted: number }>;
}

/** Options of {@link createJetStreamEraser}. */
export interface JetStreamEraserOptions {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly prefix: string;
  /** Messages per fetch (default 1000). */
  readonly batch?: number;
}

/** A {@link StreamEraser} of the deployment's EVENTS stream. */
export function createJetStreamEraser(options: JetStreamEraserOptions): StreamEraser {
  const names = streamNames(options.prefix);
  const stream = names.eventStream;
  /** Deletes (erases) one message; false when it is gone already (another scan of the same user). */
  async function deleteMessage(seq: number): Promise<boolean> {
    try {
      return await options.jsm.streams.deleteMessage(stream, seq, true);
    } catch (error) {
      if (/no message found/i.test(String(error))) return false;
      throw error;
    }
  }
  return {
    async erase(aggregateIds, types, since) {
      const ids = new Set(aggregateIds);
      let scanned = 0;
      let deleted = 0;
      if (ids.size === 0) return { scanned, deleted };
      // One scan per event type (nats-server 2.9 takes one filter subject per consumer), up to the type's last
      // message when the scan starts (what is published later is not looked at); a type whose last message is
      // older than `since` is skipped.
      for (const type of types) {
        const subject = names.eventSubject(type);
        const last = await options.jsm.streams.getMessage(stream, { last_by_subj: subject });
        if (last === null || last.time.getTime() < since.getTime()) continue;
        const consumer = await options.js.consumers.get(stream, {
          filter_subjects: subject,
          deliver_policy: DeliverPolicy.StartTime,
          opt_start_time: since.toISOString(),
          headers_only: true,
        });
        try {
          for (let done = false; !done; ) {
            const messages = await consumer.fetch({ max_messages: options.batch ?? 1_000, expires: 1_000 });
            let got = 0;
            for await (const m of messages) {
              got++;
              scanned++;
              if (ids.has(m.headers?.get(PUBLISHED_EVENT_HEADERS.aggregateId) ?? "")) {
                if (await deleteMessage(m.seq)) deleted++;
              }
              if (m.seq >= last.seq || m.info.pending === 0) {
                done = true;
                break; // ends the pull at once instead of at its expiry
              }
            }
            if (got === 0) done = true;
          }
        } finally {
          await consumer.delete().catch(() => {});
        }
      }
      return { scanned, deleted };
    },
  };
}
