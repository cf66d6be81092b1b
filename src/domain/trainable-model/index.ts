export type {
  ActivateModel,
  CompleteModelTraining,
  RegisterModel,
  ResolvedTrainableModelCommand,
  TrainableModelCommand,
  TrainableModelRefs,
} from "./commands";
export type { TrainableModelDecider } from "./decider";
export { createTrainableModelDecider } from "./decider";
export type {
  ModelActivated,
  ModelRegistered,
  ModelTrained,
  ModelTrainingFailed,
  TrainableModelEvent,
} from "./events";
export { trainableModelEventTypes } from "./events";
export type { ModelKind, ModelKindName } from "./kind";
export { modelKindLabels, modelKindNames, modelKinds } from "./kind";
export type { ModelStatus, TrainableModelState } from "./state";
export { initialTrainableModelState } from "./state";
