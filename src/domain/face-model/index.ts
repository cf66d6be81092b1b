export type {
  ActivateFaceModel,
  CompleteFaceModelTraining,
  FaceModelCommand,
  FaceModelEvent,
  RegisterFaceModel,
  ResolvedFaceModelCommand,
} from "./decider";
export { faceModelDecider, faceModelEventTypes } from "./decider";
