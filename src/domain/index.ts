/**
 * The domain: pure deciders for users, voice and face models, documents and conversations.
 * (`decider-specification.ts`, the given/when/then test helper, is deliberately not exported here.)
 * Each aggregate's pure definition (`<aggregate>/definition.ts`) is listed in `registry.ts`, from which the
 * aggregate types, command and event unions and lists, `aggregateOf` and the access rules are derived. Each
 * folder also holds its tables (`store.ts`, `persistence.ts`); only the write model imports those (by path,
 * src/write-model/stores.ts), so what imports the domain loads no SQL.
 */
export type { AggregateRef, AggregateType } from "./aggregate";
export { aggregateTypes } from "./aggregate";
export type { CommandOf, CommandType, DomainCommand, ResolvedCommand } from "./commands";
export { aggregateOf, commandTypes, creatingCommands, privilegedCommands } from "./commands";
export type {
  ConversationCommand,
  ConversationEnded,
  ConversationEvent,
  ConversationRefs,
  ConversationStarted,
  ConversationState,
  ConversationStatus,
  ConversationTurnRecorded,
  EndConversation,
  RecordConversationTurn,
  ResolvedConversationCommand,
  Speaker,
  StartConversation,
  StartConversationRefs,
} from "./conversation";
export { conversationDecider, conversationEventTypes, initialConversationState } from "./conversation";
export type { DecideContext, Decider, Event, Versioned, WithRefs } from "./decider";
export { evolveAll, isRejection } from "./decider";
export type { AccessRules, AggregateDefinition, AggregateRegistry, DerivedRegistry } from "./definition";
export { defineAggregate, deriveRegistry } from "./definition";
export type {
  DeleteDocument,
  DocumentCommand,
  DocumentContentType,
  DocumentDeleted,
  DocumentEvent,
  DocumentProcessed,
  DocumentProcessingFailed,
  DocumentRefs,
  DocumentState,
  DocumentStatus,
  DocumentUploaded,
  RecordDocumentProcessing,
  ResolvedDocumentCommand,
  UploadDocument,
} from "./document";
export { documentContentTypes, documentDecider, documentEventTypes, initialDocumentState } from "./document";
export type { DomainEvent, EventType } from "./events";
export { aggregateTypeOfEvent, eventTypes, isEventType } from "./events";
export type {
  ActivateFaceModel,
  CompleteFaceModelTraining,
  FaceModelCommand,
  FaceModelEvent,
  RegisterFaceModel,
  ResolvedFaceModelCommand,
} from "./face-model";
export { faceModelDecider, faceModelEventTypes } from "./face-model";
export type { ModelRef, UserRef, UserWithActiveModelRef, UserWithActiveModelsRef } from "./refs";
export { isLiveUser, missingModel, missingUser } from "./refs";
export { aggregates } from "./registry";
export type {
  ActivateModel,
  CompleteModelTraining,
  ModelActivated,
  ModelKind,
  ModelKindName,
  ModelRegistered,
  ModelStatus,
  ModelTrained,
  ModelTrainingFailed,
  RegisterModel,
  ResolvedTrainableModelCommand,
  TrainableModelCommand,
  TrainableModelDecider,
  TrainableModelEvent,
  TrainableModelRefs,
  TrainableModelState,
} from "./trainable-model";
export {
  createTrainableModelDecider,
  initialTrainableModelState,
  modelKindLabels,
  modelKindNames,
  modelKinds,
  trainableModelEventTypes,
} from "./trainable-model";
export type {
  CreateUser,
  DeleteUser,
  UpdateUserProfile,
  UserCommand,
  UserCreated,
  UserDeleted,
  UserEvent,
  UserProfileUpdated,
  UserState,
} from "./user";
export { initialUserState, userDecider, userEventTypes } from "./user";
export type {
  ActivateVoiceModel,
  CompleteVoiceModelTraining,
  RegisterVoiceModel,
  ResolvedVoiceModelCommand,
  VoiceModelCommand,
  VoiceModelEvent,
} from "./voice-model";
export { voiceModelDecider, voiceModelEventTypes } from "./voice-model";
