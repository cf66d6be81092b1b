/**
 * Live conversation events for WatchConversation: one subscription per gateway, fanned out to the watchers
 * of each conversation. On NATS it is a core subscription to the EVENTS stream's conversation subjects
 * (what JetStream stores is also delivered to core subscribers), held only while this gateway has a watcher:
 * every turn of every conversation goes to each subscribed gateway, which costs it and the server a delivery
 * per turn, for nothing when nobody watches. A watcher that misses an event (slow consumer, reconnect) notices
 * the gap in sequence numbers and reads the missing turns from Postgres.
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { decodePublishedEvent, PUBLISHED_EVENT_HEADERS, type PublishedEvent } from "../outbox";
import { streamNames } from "../transport/jetstream/streams";

/** Delivers a conversation's `conversation.turn_recorded` and `conversation.ended` events as they are published. */
export interface LiveTurns {
  /**
   * Starts delivering; resolves with the function that stops (safe to call twice) once the NATS server this
   * gateway is connected to has the subscription, so events published from then on reach `listener`. (While
   * disconnected it resolves at once; in a cluster the subscription reaches the other servers a moment later.
   * A watcher catches what it missed from Postgres at the next event's sequence number.)
   */
  listen(conversationId: string, listener: (event: PublishedEvent) => void): Promise<() => void>;
}

/** The types a watcher needs. */
export const liveTypes = ["conversation.turn_recorded", "conversation.ended"] as const;

/** A fan-out of events to listeners by conversation id (shared by the NATS and in-process feeds). */
export function createLiveTurnsHub(): LiveTurns & {
  dispatch(event: PublishedEvent): void;
  size(): number;
  /** True when someone watches the conversation. */
  watched(conversationId: string): boolean;
} {
  const listeners = new Map<string, Set<(event: PublishedEvent) => void>>();
  return {
    async listen(conversationId, listener) {
      let set = listeners.get(conversationId);
      if (!set) {
        set = new Set();
        listeners.set(conversationId, set);
      }
      set.add(listener);
      // Safe to call twice: a second call must not drop the set of a later watcher of the same conversation.
      return () => {
        if (set.delete(listener) && set.size === 0 && listeners.get(conversationId) === set) {
          listeners.delete(conversationId);
        }
      };
    },
    dispatch(event) {
      if (!(liveTypes as readonly string[]).includes(event.type)) return;
      for (const l of listeners.get(event.aggregateId) ?? []) l(event);
    },
    size: () => listeners.size,
    watched: (conversationId) => listeners.has(conversationId),
  };
}

/** Live turns from NATS: subscribed while someone listens. */
export function createNatsLiveTurns(nc: NatsConnection, prefix: string): LiveTurns & { close(): void } {
  const hub = createLiveTurnsHub();
  const names = streamNames(prefix);
  let subs: Subscription[] = [];
  /** Resolves once the server has the current subscriptions. */
  let subscribed: Promise<void> = Promise.resolve();
  const unsubscribe = () => {
    for (const s of subs) s.unsubscribe();
    subs = [];
  };
  const subscribe = () => {
    subs = liveTypes.map((type) =>
      nc.subscribe(names.eventSubject(type), {
        callback: (err, msg) => {
          if (err) return;
          // Most turns have no watcher on this gateway: skip them without decoding (the relay sets the header).
          const conversationId = msg.headers?.get(PUBLISHED_EVENT_HEADERS.aggregateId);
          if (conversationId && !hub.watched(conversationId)) return;
          try {
            hub.dispatch(decodePublishedEvent(msg.data));
          } catch {
            // Not an event we can read: ignore it.
          }
        },
      }),
    );
    // A flush round trip: the server has processed the SUBs before it answers.
    subscribed = nc.flush().catch(() => {});
  };
  return {
    async listen(conversationId, listener) {
      if (subs.length === 0) subscribe();
      const stop = await hub.listen(conversationId, listener);
      await subscribed;
      return () => {
        stop();
        if (hub.size() === 0) unsubscribe();
      };
    },
    close: unsubscribe,
  };
}
