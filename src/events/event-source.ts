/**
 * Consuming the published event stream: a durable, named, at-least-once subscription, delivered in stream
 * order. Two implementations: JetStream (a durable pull consumer on the EVENTS stream) and in-process
 * (embedded mode).
 */
import type { PublishedEvent } from "../outbox";

/** Handles one event; a rejection makes the event come again later. */
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
    options?: { concurrency?: number },
  ): Promise<EventSubscription>;
}
