/**
 * The voice model aggregate: the generic trainable-model decider of kind `voice_model` (its rules are
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

/** Registers a voice model (status PENDING). */
export type RegisterVoiceModel = RegisterModel<"voice_model">;
/** Records the outcome of a voice model's training. */
export type CompleteVoiceModelTraining = CompleteModelTraining<"voice_model">;
/** Makes a trained voice model its user's active one. */
export type ActivateVoiceModel = ActivateModel<"voice_model">;
/** Any voice model command. */
export type VoiceModelCommand = TrainableModelCommand<"voice_model">;
/** A voice model command with its refs. */
export type ResolvedVoiceModelCommand = ResolvedTrainableModelCommand<"voice_model">;
/** Any voice model event. */
export type VoiceModelEvent = TrainableModelEvent<"voice_model">;

/** The voice model event types. */
export const voiceModelEventTypes = trainableModelEventTypes("voice_model");

/** The voice model decider. */
export const voiceModelDecider = createTrainableModelDecider("voice_model");
