/**
 * The face model aggregate: the generic trainable-model decider of kind `face_model` (its rules are
 * documented in `trainable-model/decider.ts`).
 */
import type {
  ActivateModel,
  CompleteModelTraining,
  RegisterModel,
  ResolvedTrainableModelCommand,
  TrainableModelCommand,
  TrainableModelEvent,
} from "../trainable-model";
import { createTrainableModelDecider, trainableModelEventTypes } from "../trainable-model";

/** Registers a face model (status PENDING). */
export type RegisterFaceModel = RegisterModel<"face_model">;
/** Records the outcome of a face model's training. */
export type CompleteFaceModelTraining = CompleteModelTraining<"face_model">;
/** Makes a trained face model its user's active one. */
export type ActivateFaceModel = ActivateModel<"face_model">;
/** Any face model command. */
export type FaceModelCommand = TrainableModelCommand<"face_model">;
/** A face model command with its refs. */
export type ResolvedFaceModelCommand = ResolvedTrainableModelCommand<"face_model">;
/** Any face model event. */
export type FaceModelEvent = TrainableModelEvent<"face_model">;

/** The face model event types. */
export const faceModelEventTypes = trainableModelEventTypes("face_model");

/** The face model decider. */
export const faceModelDecider = createTrainableModelDecider("face_model");
