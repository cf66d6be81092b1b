/**
 * The registry of aggregates: one line per aggregate type, its pure definition (`<aggregate>/definition.ts`).
 * The aggregate types, the command and event unions and lists, `aggregateOf` and the access rules are derived
 * from it; the write model's list of stores (src/write-model/stores.ts) must name the same types (it does not
 * compile otherwise). Loads no SQL.
 */
import { conversationAggregate } from "./conversation/definition";
import { documentAggregate } from "./document/definition";
import { faceModelAggregate } from "./face-model/definition";
import { userAggregate } from "./user/definition";
import { voiceModelAggregate } from "./voice-model/definition";

/** Every aggregate's definition, by type, in the order of API.md. */
export const aggregates = {
  user: userAggregate,
  voice_model: voiceModelAggregate,
  face_model: faceModelAggregate,
  document: documentAggregate,
  conversation: conversationAggregate,
} as const;

/** Compile-time proof that each definition is registered under its own type. */
const _registeredUnderItsType: { readonly [T in keyof typeof aggregates]: { readonly type: T } } = aggregates;
