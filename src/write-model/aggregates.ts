/**
 * One command against the write model: load the target aggregate and the facts its rules need, decide,
 * and save the new state with an optimistic version check. Pure rules live in `src/domain`; this module is
 * the only place that knows which table holds which aggregate.
 */
import {
  type AggregateRef,
  aggregateOf,
  type ConversationCommand,
  conversationDecider,
  type DecideContext,
  type Decider,
  type DocumentCommand,
  type DomainCommand,
  type DomainEvent,
  documentDecider,
  evolveAll,
  faceModelDecider,
  initialConversationState,
  initialDocumentState,
  initialTrainableModelState,
  initialUserState,
  isRejection,
  type ModelKind,
  type TrainableModelCommand,
  type UserCommand,
  userDecider,
  type Versioned,
  voiceModelDecider,
} from "../domain";
import { AppError } from "../errors";
import { loadConversation, saveConversation } from "./conversations";
import { loadDocument, saveDocument } from "./documents";
import { loadModel, loadModelRef, saveModel } from "./models";
import type { SqlClient } from "./sql-client";
import { asUserRef, loadUser, loadUserRef, saveUser } from "./users";

/** What a command did to its aggregate. */
export interface Decision {
  readonly aggregate: AggregateRef;
  /** Version after the command (unchanged when it emitted nothing). */
  readonly version: number;
  readonly events: readonly DomainEvent[];
}

/**
 * Applies one command inside the caller's transaction.
 * @returns the decision, or the AppError a rule (or `expectedVersion`) rejected it with.
 * @throws VersionConflict when the aggregate changed between load and save (the caller retries).
 */
export async function decideAndSave(
  client: SqlClient,
  command: DomainCommand,
  ctx: DecideContext,
  expectedVersion: number | undefined,
): Promise<Decision | AppError> {
  const aggregate = aggregateOf(command);
  switch (aggregate.type) {
    case "user": {
      const state = (await loadUser(client, aggregate.id)) ?? initialUserState;
      return run(userDecider, command as UserCommand, state, (after, events) =>
        saveUser(client, state, after, events),
      );
    }
    case "voice_model":
    case "face_model":
      return decideModel(client, aggregate.type, command as TrainableModelCommand<ModelKind>);
    case "document": {
      const c = command as DocumentCommand;
      const state = (await loadDocument(client, aggregate.id)) ?? initialDocumentState;
      const resolved =
        c.type === "UploadDocument"
          ? { ...c, refs: { user: asUserRef(await loadUserRef(client, c.userId)) } }
          : c;
      return run(documentDecider, resolved, state, (after, events) =>
        saveDocument(client, state, after, events, c),
      );
    }
    case "conversation": {
      const c = command as ConversationCommand;
      const state = (await loadConversation(client, aggregate.id)) ?? initialConversationState;
      let resolved = c as Parameters<typeof conversationDecider.decide>[0];
      if (c.type === "StartConversation") {
        resolved = {
          ...c,
          refs: {
            user: await loadUserRef(client, c.userId),
            voiceModel:
              c.voiceModelId === null ? undefined : await loadModelRef(client, "voice_model", c.voiceModelId),
            faceModel:
              c.faceModelId === null ? undefined : await loadModelRef(client, "face_model", c.faceModelId),
          },
        };
      }
      return run(conversationDecider, resolved, state, (after, events) =>
        saveConversation(client, state, after, events),
      );
    }
    default: {
      const _exhaustive: never = aggregate.type;
      return _exhaustive;
    }
  }

  async function decideModel(c: SqlClient, kind: ModelKind, modelCommand: TrainableModelCommand<ModelKind>) {
    const decider = (kind === "voice_model" ? voiceModelDecider : faceModelDecider) as unknown as Decider<
      unknown,
      DomainEvent,
      typeof initialTrainableModelState
    >;
    const state = (await loadModel(c, kind, aggregate.id)) ?? initialTrainableModelState;
    let resolved: unknown = modelCommand;
    if (modelCommand.type.startsWith("Register")) {
      const { userId } = modelCommand as { userId: string };
      resolved = { ...modelCommand, refs: { user: asUserRef(await loadUserRef(c, userId)) } };
    } else if (modelCommand.type.startsWith("Activate")) {
      // A model that does not exist has no user; its decider answers NOT_FOUND before looking at refs.
      const user =
        state.version === 0
          ? { exists: false, deleted: false, activeVoiceModelId: null, activeFaceModelId: null }
          : await loadUserRef(c, state.userId);
      const activeModelId = kind === "voice_model" ? user.activeVoiceModelId : user.activeFaceModelId;
      resolved = {
        ...modelCommand,
        refs: { user: { exists: user.exists, deleted: user.deleted, activeModelId } },
      };
    }
    return run(decider, resolved, state, (after, events) =>
      saveModel(c, kind, state, after, events as Parameters<typeof saveModel>[4]),
    );
  }

  async function run<C, E extends DomainEvent, S extends Versioned>(
    decider: Decider<C, E, S>,
    resolved: C,
    state: S,
    save: (after: S, events: readonly E[]) => Promise<void>,
  ): Promise<Decision | AppError> {
    if (expectedVersion !== undefined && state.version !== expectedVersion) {
      return new AppError(
        "ABORTED",
        `${aggregate.type} ${aggregate.id} is at version ${state.version}, not the expected ${expectedVersion}`,
      );
    }
    const events = decider.decide(resolved, state, ctx);
    if (isRejection(events)) return events;
    if (events.length === 0) return { aggregate, version: state.version, events };
    const after = evolveAll(decider, state, events);
    await save(after, events);
    return { aggregate, version: after.version, events };
  }
}
