/**
 * The write model's list of the aggregates' tables: each aggregate's `persistence.ts` (its store, how its
 * command's refs are read, its owner column, the constraints that mean ALREADY_EXISTS), keyed by the
 * registry's aggregate types. A type registered in src/domain/registry.ts without an entry here does not
 * compile (this is where the compiler points); the pure domain never imports this file, so it loads no SQL.
 */
import type { AggregateType, Registry } from "../domain/aggregate";
import { conversationPersistence } from "../domain/conversation/persistence";
import type { AnyAggregateDefinition } from "../domain/definition";
import { documentPersistence } from "../domain/document/persistence";
import { faceModelPersistence } from "../domain/face-model/persistence";
import type { AnyAggregatePersistence, PersistenceOf } from "../domain/persistence";
import { aggregates } from "../domain/registry";
import { userPersistence } from "../domain/user/persistence";
import { voiceModelPersistence } from "../domain/voice-model/persistence";

/** Every aggregate's tables, by type. */
export const aggregateStores: { readonly [T in AggregateType]: PersistenceOf<Registry[T]> } = {
  user: userPersistence,
  voice_model: voiceModelPersistence,
  face_model: faceModelPersistence,
  document: documentPersistence,
  conversation: conversationPersistence,
};

/** An aggregate's pure definition and its tables, as the write model uses them. */
export type WriteDefinition = AnyAggregateDefinition & AnyAggregatePersistence;

const writeDefinitions = Object.fromEntries(
  Object.values(aggregates).map((d) => [d.type, { ...d, ...aggregateStores[d.type] }]),
) as Record<AggregateType, WriteDefinition>;

/** The definition and the tables of an aggregate type. */
export function aggregateDefinition(type: AggregateType): WriteDefinition {
  return writeDefinitions[type];
}
