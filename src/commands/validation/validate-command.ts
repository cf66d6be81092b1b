/**
 * Validation of command requests at the gateway: every violation is collected (not only the first) and
 * reported as one INVALID_ARGUMENT; a valid request becomes the domain command, with the ids the client
 * left empty generated.
 */
import type { CommandOf, CommandType } from "../../domain";
import { AppError } from "../../errors";
import {
  endConversationRequest,
  recordConversationTurnRequest,
  startConversationRequest,
} from "./conversation-requests";
import {
  deleteDocumentRequest,
  recordDocumentProcessingRequest,
  uploadDocumentRequest,
} from "./document-requests";
import {
  activateFaceModelRequest,
  activateVoiceModelRequest,
  completeFaceModelTrainingRequest,
  completeVoiceModelTrainingRequest,
  registerFaceModelRequest,
  registerVoiceModelRequest,
} from "./model-requests";
import type { CommandEnvelopeOptions } from "./options";
import type { CommandRequest } from "./request";
import { createUserRequest, deleteUserRequest, updateUserProfileRequest } from "./user-requests";

/** The request definition of every command RPC. */
export const commandRequests: { readonly [T in CommandType]: CommandRequest<T> } = {
  CreateUser: createUserRequest,
  UpdateUserProfile: updateUserProfileRequest,
  DeleteUser: deleteUserRequest,
  RegisterVoiceModel: registerVoiceModelRequest,
  CompleteVoiceModelTraining: completeVoiceModelTrainingRequest,
  ActivateVoiceModel: activateVoiceModelRequest,
  RegisterFaceModel: registerFaceModelRequest,
  CompleteFaceModelTraining: completeFaceModelTrainingRequest,
  ActivateFaceModel: activateFaceModelRequest,
  UploadDocument: uploadDocumentRequest,
  RecordDocumentProcessing: recordDocumentProcessingRequest,
  DeleteDocument: deleteDocumentRequest,
  StartConversation: startConversationRequest,
  RecordConversationTurn: recordConversationTurnRequest,
  EndConversation: endConversationRequest,
};

/** A valid command request: the domain command and its envelope options. */
export interface ValidatedCommandRequest<T extends CommandType> {
  readonly command: CommandOf<T>;
  readonly options: CommandEnvelopeOptions;
}

/**
 * Validates the request message of RPC `rpcName` (a protobuf-es message or a plain object of the same
 * shape) and returns the domain command and the envelope options. Ids left empty are filled by `newId`
 * (only once the whole request is valid).
 * @throws AppError INVALID_ARGUMENT with one `{ field, description }` per violation.
 */
export function validateCommandRequest<T extends CommandType>(
  rpcName: T,
  message: unknown,
  newId: () => string,
): ValidatedCommandRequest<T> {
  const request: CommandRequest<T> = commandRequests[rpcName];
  const result = request.check(message, newId);
  if (!result.ok) throw AppError.invalid(result.violations);
  return { command: result.command, options: result.options };
}

/**
 * Validates the request message of RPC `rpcName` and returns the domain command.
 * @throws AppError INVALID_ARGUMENT with one `{ field, description }` per violation.
 */
export function validateCommand<T extends CommandType>(
  rpcName: T,
  message: unknown,
  newId: () => string,
): CommandOf<T> {
  return validateCommandRequest(rpcName, message, newId).command;
}
