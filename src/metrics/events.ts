/**
 * Event consumer metrics: how long each consumer (document processor, consistency feed, ...) takes per event.
 * {@link EventMetrics.instrument} wraps an `EventHandler` so that wiring is one call around the handler.
 */
import { Counter, Histogram, type Registry } from "prom-client";
import { latencyBuckets } from "./buckets";
import { secondsSince } from "./commands";

/** Event consumer metrics and the helpers that record them. */
export interface EventMetrics {
  /** `clone_event_processing_seconds{consumer, event_type}`: one event handled by one consumer. */
  readonly processing: Histogram<"consumer" | "event_type">;
  /** `clone_event_processing_failures_total{consumer, event_type}`: handlers that rejected (the event comes again). */
  readonly processingFailures: Counter<"consumer" | "event_type">;
  /** Records one handled event; `ok: false` also counts a failure. */
  observe(consumer: string, eventType: string, seconds: number, ok?: boolean): void;
  /** Wraps an event handler: times each event and counts rejections (which are rethrown). */
  instrument<E extends { readonly type: string }>(
    consumer: string,
    handler: (event: E) => Promise<void>,
  ): (event: E) => Promise<void>;
}

/** Creates the event consumer metrics on `registry`. */
export function createEventMetrics(registry: Registry): EventMetrics {
  const processing = new Histogram({
    name: "clone_event_processing_seconds",
    help: "Events handled by a consumer of the EVENTS stream (handler time, failures included).",
    labelNames: ["consumer", "event_type"],
    buckets: [...latencyBuckets],
    registers: [registry],
  });
  const processingFailures = new Counter({
    name: "clone_event_processing_failures_total",
    help: "Events whose handler failed; the event is delivered again.",
    labelNames: ["consumer", "event_type"],
    registers: [registry],
  });
  const observe = (consumer: string, eventType: string, seconds: number, ok = true): void => {
    processing.observe({ consumer, event_type: eventType }, seconds);
    if (!ok) processingFailures.inc({ consumer, event_type: eventType });
  };
  return {
    processing,
    processingFailures,
    observe,
    instrument(consumer, handler) {
      return async (event) => {
        const started = performance.now();
        try {
          await handler(event);
        } catch (error) {
          observe(consumer, event.type, secondsSince(started), false);
          throw error;
        }
        observe(consumer, event.type, secondsSince(started));
      };
    },
  };
}
