export type { EventHandler, EventSource, EventSubscription } from "./event-source";
export { createJetStreamEventSource } from "./jetstream-event-source";
