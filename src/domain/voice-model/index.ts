export type {
  ActivateVoiceModel,
  CompleteVoiceModelTraining,
  RegisterVoiceModel,
  ResolvedVoiceModelCommand,
  VoiceModelCommand,
  VoiceModelEvent,
} from "./decider";
export { voiceModelDecider, voiceModelEventTypes } from "./decider";
