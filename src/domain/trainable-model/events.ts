/** Events of the voice and face model aggregates: the same data, prefixed by kind (`face_model.trained`). */
import type { Event } from "../decider";
import type { ModelKind } from "./kind";

/** A model was registered (status PENDING). */
export type ModelRegistered<K extends ModelKind> = Event<
  `${K}.registered`,
  {
    readonly modelId: string;
    readonly userId: string;
    readonly name: string;
    readonly sampleSeconds: number;
    readonly registeredAt: string;
  }
>;

/** Training succeeded (status TRAINED). */
export type ModelTrained<K extends ModelKind> = Event<
  `${K}.trained`,
  {
    readonly modelId: string;
    readonly userId: string;
    readonly qualityScore: number;
    readonly completedAt: string;
  }
>;

/** Training failed (status FAILED). */
export type ModelTrainingFailed<K extends ModelKind> = Event<
  `${K}.training_failed`,
  {
    readonly modelId: string;
    readonly userId: string;
    readonly failureReason: string;
    readonly completedAt: string;
  }
>;

/**
 * The model became its user's active model of this kind; `previousModelId` is the one that became
 * inactive (null when the user had none), so the read side can update both.
 */
export type ModelActivated<K extends ModelKind> = Event<
  `${K}.activated`,
  {
    readonly modelId: string;
    readonly userId: string;
    readonly previousModelId: string | null;
    readonly activatedAt: string;
  }
>;

/** Any event of a model of kind `K` (distributes over a union of kinds). */
export type TrainableModelEvent<K extends ModelKind> = K extends ModelKind
  ? ModelRegistered<K> | ModelTrained<K> | ModelTrainingFailed<K> | ModelActivated<K>
  : never;

/** The event types of a kind, in the order of API.md. */
export function trainableModelEventTypes<K extends ModelKind>(
  kind: K,
): readonly [`${K}.registered`, `${K}.trained`, `${K}.training_failed`, `${K}.activated`] {
  return [`${kind}.registered`, `${kind}.trained`, `${kind}.training_failed`, `${kind}.activated`];
}
