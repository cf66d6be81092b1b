/**
 * Business rules of voice and face models (identical for both kinds).
 *
 * - Register: an id that was ever used is ALREADY_EXISTS; a missing or deleted user is NOT_FOUND; the model
 *   starts PENDING.
 * - Complete training: NOT_FOUND when missing; FAILED_PRECONDITION unless PENDING (a result is recorded
 *   once). Who may send it (service/admin) is checked at the gateway.
 * - Activate: NOT_FOUND when the model is missing or its owner is missing or deleted; FAILED_PRECONDITION
 *   unless TRAINED; a no-op success (no events) when it already is the owner's active model.
 */
import type { AppError } from "../../errors";
import type { DecideContext, Decider } from "../decider";
import { isLiveUser, type UserRef, type UserWithActiveModelRef } from "../refs";
import { alreadyExists, failedPrecondition, notFound } from "../rejections";
import type {
  ActivateModel,
  CompleteModelTraining,
  RegisterModel,
  ResolvedTrainableModelCommand,
} from "./commands";
import type { TrainableModelEvent } from "./events";
import { type ModelKind, modelKindLabels } from "./kind";
import { initialTrainableModelState, type TrainableModelState } from "./state";

type AnyCommand = ResolvedTrainableModelCommand<ModelKind>;
type AnyEvent = TrainableModelEvent<ModelKind>;
type Decision = readonly AnyEvent[] | AppError;

function register(
  kind: ModelKind,
  command: RegisterModel<ModelKind> & { readonly refs: { readonly user: UserRef } },
  state: TrainableModelState,
  ctx: DecideContext,
): Decision {
  if (state.version > 0) return alreadyExists(modelKindLabels[kind], command.modelId);
  if (!isLiveUser(command.refs.user)) return notFound("user", command.userId);
  const { modelId, userId, name, sampleSeconds } = command;
  const registeredAt = ctx.now.toISOString();
  return [{ type: `${kind}.registered`, data: { modelId, userId, name, sampleSeconds, registeredAt } }];
}

function completeTraining(
  kind: ModelKind,
  command: CompleteModelTraining<ModelKind>,
  state: TrainableModelState,
  ctx: DecideContext,
): Decision {
  if (state.version === 0) return notFound(modelKindLabels[kind], command.modelId);
  if (state.status !== "PENDING") {
    return failedPrecondition(
      `${modelKindLabels[kind]} ${command.modelId} is ${state.status}; only a PENDING model can complete training`,
    );
  }
  const { modelId, userId } = state;
  const completedAt = ctx.now.toISOString();
  return command.succeeded
    ? [
        {
          type: `${kind}.trained`,
          data: { modelId, userId, qualityScore: command.qualityScore, completedAt },
        },
      ]
    : [
        {
          type: `${kind}.training_failed`,
          data: { modelId, userId, failureReason: command.failureReason, completedAt },
        },
      ];
}

function activate(
  kind: ModelKind,
  command: ActivateModel<ModelKind> & { readonly refs: { readonly user: UserWithActiveModelRef } },
  state: TrainableModelState,
  ctx: DecideContext,
): Decision {
  const label = modelKindLabels[kind];
  if (state.version === 0) return notFound(label, command.modelId);
  if (!isLiveUser(command.refs.user)) return notFound("user", state.userId);
  if (state.status !== "TRAINED") {
    return failedPrecondition(
      `${label} ${command.modelId} is ${state.status}; only a TRAINED model can be activated`,
    );
  }
  const previousModelId = command.refs.user.activeModelId;
  if (previousModelId === state.modelId) return [];
  const { modelId, userId } = state;
  return [
    {
      type: `${kind}.activated`,
      data: { modelId, userId, previousModelId, activatedAt: ctx.now.toISOString() },
    },
  ];
}

function decide(
  kind: ModelKind,
  command: AnyCommand,
  state: TrainableModelState,
  ctx: DecideContext,
): Decision {
  switch (command.type) {
    case "RegisterVoiceModel":
    case "RegisterFaceModel":
      return register(kind, command, state, ctx);
    case "CompleteVoiceModelTraining":
    case "CompleteFaceModelTraining":
      return completeTraining(kind, command, state, ctx);
    case "ActivateVoiceModel":
    case "ActivateFaceModel":
      return activate(kind, command, state, ctx);
    default: {
      const _exhaustive: never = command;
      return _exhaustive;
    }
  }
}

function evolve(state: TrainableModelState, event: AnyEvent): TrainableModelState {
  const version = state.version + 1;
  switch (event.type) {
    case "voice_model.registered":
    case "face_model.registered": {
      const { modelId, userId, name, sampleSeconds, registeredAt } = event.data;
      return { ...initialTrainableModelState, version, modelId, userId, name, sampleSeconds, registeredAt };
    }
    case "voice_model.trained":
    case "face_model.trained":
      return {
        ...state,
        version,
        status: "TRAINED",
        qualityScore: event.data.qualityScore,
        completedAt: event.data.completedAt,
      };
    case "voice_model.training_failed":
    case "face_model.training_failed":
      return {
        ...state,
        version,
        status: "FAILED",
        failureReason: event.data.failureReason,
        completedAt: event.data.completedAt,
      };
    case "voice_model.activated":
    case "face_model.activated":
      return { ...state, version, activatedAt: event.data.activatedAt };
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

/** A decider of one kind of model. */
export type TrainableModelDecider<K extends ModelKind> = Decider<
  ResolvedTrainableModelCommand<K>,
  TrainableModelEvent<K>,
  TrainableModelState
>;

/**
 * Creates the decider of one kind of model. Its events carry that kind's prefix; its commands are that
 * kind's RPCs (the types keep the two kinds apart, so the casts below only forget what the types know).
 */
export function createTrainableModelDecider<K extends ModelKind>(kind: K): TrainableModelDecider<K> {
  return {
    initialState: () => initialTrainableModelState,
    decide: (command, state, ctx) =>
      decide(kind, command as AnyCommand, state, ctx) as readonly TrainableModelEvent<K>[] | AppError,
    evolve: (state, event) => evolve(state, event as AnyEvent),
  };
}
