/**
 * {@link EventSource} inside one process (embedded mode): the pooled outbox relay publishes into an
 * in-memory log, and each subscription name is a durable cursor over it, as a JetStream consumer is.
 *
 * Semantics follow the JetStream implementation: events arrive in publish order, at most `concurrency` at a
 * time (1: strictly one after the other); a handler that rejects gets the same event again after a backoff,
 * and the events behind it wait for it when `concurrency` is 1. A stopped subscription keeps its cursor, so
 * subscribing again with the same name goes on from the first event it had not finished. Publishing never
 * waits for handlers (they may need the database connection the relay is holding while it publishes).
 *
 * The log lives in memory: events that every known subscription has passed are dropped, and while no
 * subscription exists at all only the last `retainWithoutSubscribers` are kept. What a process had not
 * handled when it died is not delivered again after a restart (see {@link InProcessEventSource.idle} for
 * a graceful stop that loses nothing).
 */
import type { BatchResult, PublishedEvent } from "../outbox";
import type { EventSource, EventSubscription } from "./event-source";

/** Options of {@link createInProcessEventSource}. */
export interface InProcessEventSourceOptions {
  /** First wait before an event whose handler failed is handled again, ms; doubles up to `maxRetryMs`. Default 1000. */
  readonly retryMs?: number;
  /** Longest wait between attempts, ms. Default 30000. */
  readonly maxRetryMs?: number;
  /** Events kept for a first subscriber while none exists. Default 10000. */
  readonly retainWithoutSubscribers?: number;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** The in-process event bus: an {@link EventSource} that can also be published to. */
export interface InProcessEventSource extends EventSource {
  /** Appends events in order; resolves at once with all of them acked (a full `BatchResult`). */
  publish(events: readonly PublishedEvent[]): Promise<BatchResult>;
  /** Resolves when every running subscription has handled everything published so far. */
  idle(): Promise<void>;
}

/** A durable cursor: the first event not yet handled, and those handled above it (out of order). */
interface Consumer {
  floor: number;
  readonly done: Set<number>;
  running: boolean;
}

/** Creates an empty in-process event bus. */
export function createInProcessEventSource(options: InProcessEventSourceOptions = {}): InProcessEventSource {
  const retryMs = options.retryMs ?? 1_000;
  const maxRetryMs = options.maxRetryMs ?? 30_000;
  const retain = options.retainWithoutSubscribers ?? 10_000;
  const log = options.log ?? (() => {});
  /** events[i] is the event with absolute index base + i. */
  let events: PublishedEvent[] = [];
  let base = 0;
  const consumers = new Map<string, Consumer>();
  /** The pumps of the running subscriptions. */
  const pumps = new Set<() => void>();
  let idleWaiters: Array<() => void> = [];

  const end = () => base + events.length;

  function trim(): void {
    const floors = [...consumers.values()].map((c) => c.floor);
    const keepFrom = floors.length === 0 ? end() - retain : Math.min(...floors);
    if (keepFrom <= base) return;
    events = events.slice(keepFrom - base);
    base = keepFrom;
  }

  function caughtUp(): boolean {
    return [...consumers.values()].every((c) => !c.running || c.floor >= end());
  }

  function progressed(): void {
    trim();
    if (idleWaiters.length === 0 || !caughtUp()) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  return {
    async publish(batch) {
      events.push(...batch);
      for (const pump of [...pumps]) pump();
      progressed();
      return { published: batch };
    },

    idle() {
      return caughtUp() ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve));
    },

    async subscribe(name, types, handler, subscribeOptions): Promise<EventSubscription> {
      const concurrency = Math.max(1, subscribeOptions?.concurrency ?? 1);
      const wanted = new Set(types);
      const consumer = consumers.get(name) ?? { floor: base, done: new Set<number>(), running: false };
      if (consumer.running) throw new Error(`event subscription ${name} is already running in this process`);
      consumers.set(name, consumer);
      consumer.running = true;
      let stopped = false;
      let next = consumer.floor;
      const inFlight = new Set<Promise<void>>();
      let endWaits: () => void = () => {};
      const stopping = new Promise<void>((resolve) => {
        endWaits = resolve;
      });

      /** Marks one event handled and moves the floor over every handled event at it. */
      function advance(index: number): void {
        consumer.done.add(index);
        while (consumer.done.delete(consumer.floor)) consumer.floor += 1;
      }

      async function handle(index: number, event: PublishedEvent): Promise<void> {
        for (let attempt = 1; !stopped; attempt++) {
          try {
            await handler(event);
            advance(index);
            return;
          } catch (error) {
            const waitMs = Math.min(maxRetryMs, retryMs * 2 ** Math.min(attempt - 1, 20));
            log("event handler failed; will retry", {
              consumer: name,
              eventId: event.eventId,
              attempt,
              waitMs,
              error: String(error),
            });
            await Promise.race([Bun.sleep(waitMs), stopping]);
          }
        }
      }

      function pump(): void {
        if (stopped) return;
        let skipped = false;
        while (inFlight.size < concurrency && next < end()) {
          const index = next++;
          if (consumer.done.has(index)) continue;
          const event = events[index - base] as PublishedEvent;
          if (wanted.size > 0 && !wanted.has(event.type)) {
            advance(index);
            skipped = true;
            continue;
          }
          const running: Promise<void> = handle(index, event).finally(() => {
            inFlight.delete(running);
            pump();
            progressed();
          });
          inFlight.add(running);
        }
        if (skipped) progressed();
      }

      pumps.add(pump);
      pump();
      return {
        async stop() {
          if (stopped) return;
          stopped = true;
          endWaits();
          pumps.delete(pump);
          while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
          consumer.running = false;
          progressed();
        },
      };
    },
  };
}
