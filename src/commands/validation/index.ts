export {
  endConversationRequestSchema,
  recordConversationTurnRequestSchema,
  startConversationRequestSchema,
} from "./conversation-requests";
export {
  deleteDocumentRequestSchema,
  recordDocumentProcessingRequestSchema,
  uploadDocumentRequestSchema,
} from "./document-requests";
export type { Rule } from "./fields";
export { codePoints } from "./fields";
export {
  commandIdPattern,
  maxDisplayNameLength,
  maxDocumentBytes,
  maxEmailLength,
  maxFailureReasonLength,
  maxModelNameLength,
  maxTitleLength,
  maxTurnTextLength,
} from "./limits";
export {
  activateFaceModelRequestSchema,
  activateVoiceModelRequestSchema,
  completeFaceModelTrainingRequestSchema,
  completeVoiceModelTrainingRequestSchema,
  registerFaceModelRequestSchema,
  registerVoiceModelRequestSchema,
} from "./model-requests";
export type { CommandEnvelopeOptions } from "./options";
export { commandOptionsOf, commandOptionsSchema } from "./options";
export type { CommandRequest, RequestCheck } from "./request";
export {
  createUserRequestSchema,
  deleteUserRequestSchema,
  updateUserProfileRequestSchema,
} from "./user-requests";
export type { ValidatedCommandRequest } from "./validate-command";
export { commandRequests, validateCommand, validateCommandRequest } from "./validate-command";
export { fieldPath } from "./violations";
