/**
 * Every domain command, the refs each one needs, and the aggregate each one targets.
 *
 * A {@link DomainCommand} is the caller's intent, as validation produces it and the transport carries it.
 * Before deciding, the command handler resolves it into a {@link ResolvedCommand} by adding the `refs`
 * listed in {@link CommandRefs} for its type (commands without an entry need none).
 */
import type { AggregateRef } from "./aggregate";
import type { ConversationCommand, ConversationRefs } from "./conversation";
import type { WithRefs } from "./decider";
import type { DocumentCommand, DocumentRefs } from "./document";
import type { FaceModelCommand } from "./face-model";
import type { TrainableModelRefs } from "./trainable-model";
import type { UserCommand } from "./user";
import type { VoiceModelCommand } from "./voice-model";

/** Any domain command, discriminated by `type` (the RPC name). */
export type DomainCommand =
  | UserCommand
  | VoiceModelCommand
  | FaceModelCommand
  | DocumentCommand
  | ConversationCommand;

/** The type (RPC name) of a domain command. */
export type CommandType = DomainCommand["type"];

/** The command of a given type. */
export type CommandOf<T extends CommandType> = Extract<DomainCommand, { readonly type: T }>;

/** The refs each command type needs, keyed by command type. */
export type CommandRefs = TrainableModelRefs<"voice_model"> &
  TrainableModelRefs<"face_model"> &
  DocumentRefs &
  ConversationRefs;

/** Any domain command with its refs, as the deciders take it. */
export type ResolvedCommand = WithRefs<DomainCommand, CommandRefs>;

/** Every command type. */
export const commandTypes = [
  "CreateUser",
  "UpdateUserProfile",
  "DeleteUser",
  "RegisterVoiceModel",
  "CompleteVoiceModelTraining",
  "ActivateVoiceModel",
  "RegisterFaceModel",
  "CompleteFaceModelTraining",
  "ActivateFaceModel",
  "UploadDocument",
  "RecordDocumentProcessing",
  "DeleteDocument",
  "StartConversation",
  "RecordConversationTurn",
  "EndConversation",
] as const satisfies readonly CommandType[];

type Unlisted = Exclude<CommandType, (typeof commandTypes)[number]>;
const _everyCommandTypeListed: [Unlisted] extends [never] ? true : Unlisted = true;

/** The aggregate a command targets (the routing key of its mailbox). */
export function aggregateOf(command: DomainCommand): AggregateRef {
  switch (command.type) {
    case "CreateUser":
    case "UpdateUserProfile":
    case "DeleteUser":
      return { type: "user", id: command.userId };
    case "RegisterVoiceModel":
    case "CompleteVoiceModelTraining":
    case "ActivateVoiceModel":
      return { type: "voice_model", id: command.modelId };
    case "RegisterFaceModel":
    case "CompleteFaceModelTraining":
    case "ActivateFaceModel":
      return { type: "face_model", id: command.modelId };
    case "UploadDocument":
    case "RecordDocumentProcessing":
    case "DeleteDocument":
      return { type: "document", id: command.documentId };
    case "StartConversation":
    case "RecordConversationTurn":
    case "EndConversation":
      return { type: "conversation", id: command.conversationId };
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}
