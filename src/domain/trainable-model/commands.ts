/**
 * Commands of the voice and face model aggregates; `type` is the RPC name (`RegisterVoiceModel`,
 * `RegisterFaceModel`, ...). The model's id is `modelId` for both kinds (`voice_model_id` or
 * `face_model_id` on the wire).
 */
import type { WithRefs } from "../decider";
import type { UserRef, UserWithActiveModelRef } from "../refs";
import type { ModelKind, ModelKindName } from "./kind";

/** Registers a new model of a user; it starts PENDING. */
export interface RegisterModel<K extends ModelKind> {
  readonly type: `Register${ModelKindName<K>}`;
  readonly modelId: string;
  readonly userId: string;
  readonly name: string;
  /** Seconds of sample audio or video the model is trained from (> 0). */
  readonly sampleSeconds: number;
}

/**
 * Records the outcome of training. `qualityScore` (0..1) is meaningful only when `succeeded`,
 * `failureReason` only when not.
 */
export interface CompleteModelTraining<K extends ModelKind> {
  readonly type: `Complete${ModelKindName<K>}Training`;
  readonly modelId: string;
  readonly succeeded: boolean;
  readonly qualityScore: number;
  readonly failureReason: string;
}

/** Makes a trained model its user's active model of this kind. */
export interface ActivateModel<K extends ModelKind> {
  readonly type: `Activate${ModelKindName<K>}`;
  readonly modelId: string;
}

/** Any command on a model of kind `K` (distributes over a union of kinds). */
export type TrainableModelCommand<K extends ModelKind> = K extends ModelKind
  ? RegisterModel<K> | CompleteModelTraining<K> | ActivateModel<K>
  : never;

/**
 * Refs per command type: Register needs the user it names; Activate needs the model's owner (the user
 * in the model's state) with the owner's currently active model of this kind.
 */
export type TrainableModelRefs<K extends ModelKind> = {
  readonly [T in RegisterModel<K>["type"]]: { readonly user: UserRef };
} & {
  readonly [T in ActivateModel<K>["type"]]: { readonly user: UserWithActiveModelRef };
};

/** A model command of kind `K` with its refs, as `decide` takes it. */
export type ResolvedTrainableModelCommand<K extends ModelKind> = WithRefs<
  TrainableModelCommand<K>,
  TrainableModelRefs<K>
>;
