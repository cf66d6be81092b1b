/**
 * A durable event consumer that dead-letters what fails for good (source `source`, keyed by the aggregate id,
 * the event as payload) and runs again the dead letters an operator asked to retry.
 */
import {
  type DeadLetterSource,
  describeError,
  recordDeadLetter,
  startDeadLetterRetrier,
} from "../dead-letters";
import type { Logger } from "../logging";
import type { SqlClient } from "../write-model";
import type { EventHandler, EventSource, EventSubscription } from "./event-source";

/** Options of {@link startDeadLetteringConsumer}. */
export interface DeadLetteringConsumerOptions {
  readonly events: EventSource;
  readonly db: SqlClient;
  /**
   * The durable consumers, each a name (also its consumer name in `dead_letters`) and the event types it takes.
   * Give each type its own consumer when the consumer must not see every event: on nats-server 2.9 a consumer
   * of several types filters the whole stream (one filter subject per consumer).
   */
  readonly consumers: readonly { readonly name: string; readonly types: readonly string[] }[];
  readonly source: DeadLetterSource;
  readonly handle: EventHandler;
  /** Events handled at once (default 1). */
  readonly concurrency?: number;
  /** How often dead letters an operator asked to retry are looked for, ms (default 1000). */
  readonly retryPollMs?: number;
  readonly log?: Logger;
}

/** Subscribes each consumer to its types, dead-lettering into `source`, with one dead-letter retrier. */
export async function startDeadLetteringConsumer(
  options: DeadLetteringConsumerOptions,
): Promise<EventSubscription> {
  const { db, source, handle } = options;
  const subscriptions: EventSubscription[] = [];
  for (const { name, types } of options.consumers) {
    subscriptions.push(
      await options.events.subscribe(name, types, handle, {
        ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
        deadLetter: (event, error, attempts) =>
          recordDeadLetter(db, {
            source,
            consumer: name,
            key: event.aggregateId,
            error: describeError(error),
            attempts,
            payload: event,
          }),
      }),
    );
  }
  const retrier = startDeadLetterRetrier({
    db,
    source,
    retry: (letter) => handle(letter.payload as Parameters<EventHandler>[0]),
    ...(options.retryPollMs === undefined ? {} : { pollMs: options.retryPollMs }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  return {
    async stop() {
      await retrier.stop();
      for (const subscription of subscriptions) await subscription.stop();
    },
  };
}
