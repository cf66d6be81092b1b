/** Every domain event, and the list of their type names (exactly those of API.md). */
import type { AggregateType, Registry } from "./aggregate";
import { derived } from "./commands";
import type { EventsOf } from "./definition";

/** Any domain event: the events of every registered aggregate. */
export type DomainEvent = { [T in keyof Registry]: EventsOf<Registry[T]> }[keyof Registry];

/** The type name of a domain event (`user.created`, ...). */
export type EventType = DomainEvent["type"];

/** Every event type, in the order of API.md (each aggregate's list, in the registry's order). */
export const eventTypes: readonly EventType[] = derived.eventTypes;

const eventTypeSet: ReadonlySet<string> = new Set(eventTypes);

/** True when `type` names a domain event. */
export function isEventType(type: string): type is EventType {
  return eventTypeSet.has(type);
}

/** The aggregate type an event belongs to (the part of its type before the dot). */
export function aggregateTypeOfEvent(type: EventType): AggregateType {
  return type.slice(0, type.indexOf(".")) as AggregateType;
}
