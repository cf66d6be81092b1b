/** Every domain event, and the list of their type names (exactly those of API.md). */
import type { AggregateType } from "./aggregate";
import type { ConversationEvent } from "./conversation";
import { conversationEventTypes } from "./conversation";
import type { DocumentEvent } from "./document";
import { documentEventTypes } from "./document";
import type { FaceModelEvent } from "./face-model";
import { faceModelEventTypes } from "./face-model";
import type { UserEvent } from "./user";
import { userEventTypes } from "./user";
import type { VoiceModelEvent } from "./voice-model";
import { voiceModelEventTypes } from "./voice-model";

/** Any domain event. */
export type DomainEvent = UserEvent | VoiceModelEvent | FaceModelEvent | DocumentEvent | ConversationEvent;

/** The type name of a domain event (`user.created`, ...). */
export type EventType = DomainEvent["type"];

/** Every event type, in the order of API.md. */
export const eventTypes = [
  ...userEventTypes,
  ...voiceModelEventTypes,
  ...faceModelEventTypes,
  ...documentEventTypes,
  ...conversationEventTypes,
] as const satisfies readonly EventType[];

/** Compile-time proof that `eventTypes` lists every member of {@link EventType}. */
type Unlisted = Exclude<EventType, (typeof eventTypes)[number]>;
const _everyEventTypeListed: [Unlisted] extends [never] ? true : Unlisted = true;

const eventTypeSet: ReadonlySet<string> = new Set(eventTypes);

/** True when `type` names a domain event. */
export function isEventType(type: string): type is EventType {
  return eventTypeSet.has(type);
}

/** The aggregate type an event belongs to (the part of its type before the dot). */
export function aggregateTypeOfEvent(type: EventType): AggregateType {
  return type.slice(0, type.indexOf(".")) as AggregateType;
}
