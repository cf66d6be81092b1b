export type { DeadLetteringConsumerOptions } from "./dead-lettering-consumer";
export { startDeadLetteringConsumer } from "./dead-lettering-consumer";
export type { EventHandler, EventSource, EventSubscription } from "./event-source";
export type { InProcessEventSource, InProcessEventSourceOptions } from "./in-process-event-source";
export { createInProcessEventSource } from "./in-process-event-source";
export { createJetStreamEventSource } from "./jetstream-event-source";
export type { JetStreamEraserOptions, StreamEraser } from "./stream-eraser";
export { createJetStreamEraser } from "./stream-eraser";
