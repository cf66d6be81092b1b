/**
 * {@link EventSource} inside one process (embedded mode): the pooled outbox relay publishes into an
 * in-memory log, and each subscription name is a durable cursor over it, as a JetStream consumer is.
 *
 * Semantics follow the JetStream implementation: events arrive in publish order, at most `concurrency` at a
 * time (1: strictly one after the other); a handler that rejects gets the same event again after a backoff
 * (capped, jittered), in its own lane: it gives its place up meanwhile, so the events behind it go on, and one
 * that fails deterministically (or too often) goes to the subscription's `deadLetter`. The cursor stays at
 * the first event not yet done, so a retrying event is not lost. A stopped subscription keeps its cursor, so
 * subscribing again with the same name goes on from the first event it had not finished. Publishing never
 * waits for handlers (they may need the database connection the relay is holding while it publishes).
 *
 * The log lives in memory: events that every known subscription has passed are dropped, and while no
 * subscription exists at all only the last `retainWithoutSubscribers` are kept. The subscriptions named in
 * `cursors` keep their cursor in a {@link CursorStore} (Postgres in the embedded mode): they skip the events
 * at or below it, so what a process had not handled when it died comes again after a restart once the
 * outbox's events after it are put on the bus again (durable-cursors.ts); the others start from what the
 * log holds (see {@link InProcessEventSource.idle} for a graceful stop).
 */

import { comparePoints, type StreamPoint } from "../contracts";
import type { RetryPolicy } from "../dead-letters";
import { type Logger, silentLogger } from "../logging";
import { type BatchResult, type PublishedEvent, pointOfPublishedEvent } from "../outbox";
import type { CursorStore } from "./durable-cursors";
import type { EventSource, EventSubscription } from "./event-source";
import { afterFailure } from "./failure-lane";

/** Options of {@link createInProcessEventSource}. */
export interface InProcessEventSourceOptions {
  /**
   * The retry policy of subscriptions that bring none: backoff and attempts (default: `defaultRetryPolicy`).
   */
  readonly retryPolicy?: RetryPolicy;
  /** Durable subscriptions: their names, and where their cursors are kept. */
  readonly cursors?: { readonly store: CursorStore; readonly names: readonly string[] };
  /** Most time between a durable cursor's move and its save, ms (default 100). */
  readonly cursorSaveMs?: number;
  /** Events kept for a first subscriber while none exists. Default 10000. */
  readonly retainWithoutSubscribers?: number;
  readonly log?: Logger;
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
  /** The point of the event just below the floor (the last of those all handled), if known. */
  point?: StreamPoint;
}

/** Creates an empty in-process event bus. */
export function createInProcessEventSource(options: InProcessEventSourceOptions = {}): InProcessEventSource {
  const retain = options.retainWithoutSubscribers ?? 10_000;
  const log = options.log ?? silentLogger;
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
      const failurePolicy = {
        ...subscribeOptions,
        ...(subscribeOptions?.retryPolicy === undefined && options.retryPolicy !== undefined
          ? { retryPolicy: options.retryPolicy }
          : {}),
      };
      /** Events waiting out a backoff (index -> failed attempts so far), and their timers. */
      const attempts = new Map<number, number>();
      const retryTimers = new Set<ReturnType<typeof setTimeout>>();
      /** Events whose backoff is over, to be handled before new ones. */
      const due: number[] = [];
      const wanted = new Set(types);
      const consumer = consumers.get(name) ?? { floor: base, done: new Set<number>(), running: false };
      if (consumer.running) throw new Error(`event subscription ${name} is already running in this process`);
      const store = options.cursors?.names.includes(name) ? options.cursors.store : undefined;
      const saved = store ? await store.load(name) : undefined;
      let saving: Promise<void> = Promise.resolve();
      let saveTimer: ReturnType<typeof setTimeout> | undefined;
      /** Saves the durable cursor (one save at a time, the latest point; a failure is logged, retried next move). */
      function saveCursor(): void {
        saveTimer = undefined;
        const point = consumer.point;
        if (!store || point === undefined) return;
        saving = saving
          .then(() => store.save(name, point))
          .catch((error: unknown) =>
            log.warn({ consumer: name, error: String(error) }, "saving an event cursor failed"),
          );
      }
      consumers.set(name, consumer);
      consumer.running = true;
      let stopped = false;
      let next = consumer.floor;
      const inFlight = new Set<Promise<void>>();

      /** Marks one event handled and moves the floor over every handled event at it. */
      function advance(index: number): void {
        consumer.done.add(index);
        const before = consumer.floor;
        while (consumer.done.delete(consumer.floor)) consumer.floor += 1;
        if (consumer.floor === before) return;
        const last = events[consumer.floor - 1 - base];
        if (last !== undefined) consumer.point = pointOfPublishedEvent(last);
        if (store && saveTimer === undefined) saveTimer = setTimeout(saveCursor, options.cursorSaveMs ?? 100);
      }

      /** One attempt; a failure gives the event's place up until its backoff is over (or dead-letters it). */
      async function handle(index: number, event: PublishedEvent): Promise<void> {
        try {
          await handler(event);
          attempts.delete(index);
          advance(index);
          return;
        } catch (error) {
          const failures = (attempts.get(index) ?? 0) + 1;
          attempts.set(index, failures);
          const next = await afterFailure(name, event, error, failures, failurePolicy, log);
          if (next === "done") {
            attempts.delete(index);
            advance(index);
            return;
          }
          if (stopped) return;
          const timer = setTimeout(() => {
            retryTimers.delete(timer);
            due.push(index);
            pump();
          }, next.retryInMs);
          retryTimers.add(timer);
        }
      }

      function start(index: number): void {
        const event = events[index - base] as PublishedEvent;
        const running: Promise<void> = handle(index, event).finally(() => {
          inFlight.delete(running);
          pump();
          progressed();
        });
        inFlight.add(running);
      }

      function pump(): void {
        if (stopped) return;
        let skipped = false;
        while (inFlight.size < concurrency && due.length > 0) start(due.shift() as number);
        while (inFlight.size < concurrency && next < end()) {
          const index = next++;
          if (consumer.done.has(index)) continue;
          const event = events[index - base] as PublishedEvent;
          const handledBefore =
            saved !== undefined && comparePoints(pointOfPublishedEvent(event), saved) <= 0;
          if (handledBefore || (wanted.size > 0 && !wanted.has(event.type))) {
            advance(index);
            skipped = true;
            continue;
          }
          start(index);
        }
        if (skipped) progressed();
      }

      pumps.add(pump);
      pump();
      return {
        async stop() {
          if (stopped) return;
          stopped = true;
          for (const timer of retryTimers) clearTimeout(timer);
          retryTimers.clear();
          pumps.delete(pump);
          while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
          if (saveTimer !== undefined) {
            clearTimeout(saveTimer);
            saveCursor();
          }
          await saving;
          consumer.running = false;
          progressed();
        },
      };
    },
  };
}
