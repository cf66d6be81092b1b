/**
 * The registry of aggregates: one line per aggregate type, its definition (`<aggregate>/definition.ts`).
 * Everything that depends on an aggregate's type (the executor's decisions and kept states, the write model's
 * reads, the gateway's authorization and owner lookup) reads it here.
 */
import type { AggregateType } from "./aggregate";
import { conversationAggregate } from "./conversation/definition";
import type { AnyAggregateDefinition } from "./definition";
import { documentAggregate } from "./document/definition";
import { faceModelAggregate } from "./face-model/definition";
import { userAggregate } from "./user/definition";
import { voiceModelAggregate } from "./voice-model/definition";

/** Every aggregate's definition, by type. */
export const aggregates: { readonly [T in AggregateType]: AnyAggregateDefinition & { readonly type: T } } = {
  user: userAggregate,
  voice_model: voiceModelAggregate,
  face_model: faceModelAggregate,
  document: documentAggregate,
  conversation: conversationAggregate,
};

/** The definition of an aggregate type. */
export function aggregateDefinition(type: AggregateType): AnyAggregateDefinition {
  return aggregates[type];
}
