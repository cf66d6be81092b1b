/**
 * Consuming the published event stream: a durable, named, at-least-once subscription, delivered in stream
 * order. Two implementations: JetStream (a durable pull consumer on the EVENTS stream) and in-process
 * (embedded mode).
 */
import type { RetryPolicy } from "../dead-letters";
import type { PublishedEvent } from "../outbox";

/**
 * Handles one event; a rejection makes the event come again later (after a backoff, in its own lane: the
 * events behind it go on), or, when the failure is deterministic or keeps repeating, go to `deadLetter`.
 */
export type EventHandler = (event: PublishedEvent) => Promise<void>;

/** A running subscription. */
export interface EventSubscription {
  /** Stops taking events and waits for the ones being handled. */
  stop(): Promise<void>;
}

/** Where events come from. */
export interface EventSource {
  /**
   * Subscribes `name` (a durable consumer: after a restart it goes on where it stopped) to the events whose
   * type is in `types` (all events when empty), handled at most `concurrency` at a time (default 1: in order).
   */
  subscribe(
    name: string,
    types: readonly string[],
    handler: EventHandler,
    options?: SubscribeOptions,
  ): Promise<EventSubscription>;
}

/** Options of {@link EventSource.subscribe}. */
export interface SubscribeOptions {
  /** Events handled at once (default 1). */
  readonly concurrency?: number;
  /**
   * Records an event given up on (a deterministic failure, or too many; see `decideRetry`); the event is then
   * acknowledged. When it rejects, the event is tried again later. Without it, failing events are retried
   * (with backoff, in their own lane) for good.
   */
  readonly deadLetter?: (event: PublishedEvent, error: unknown, attempts: number) => Promise<void>;
  readonly retryPolicy?: RetryPolicy;
}
