/** The tables of a trainable model aggregate of either kind (see domain/persistence.ts). */
import type { SqlClient } from "../../db/sql-client";
import { definePersistence } from "../persistence";
import type { UserRef } from "../refs";
import { asUserRef, loadUserRef } from "../user/store";
import type { ResolvedTrainableModelCommand, TrainableModelCommand } from "./commands";
import type { TrainableModelDefinition } from "./definition";
import { type ModelKind, type ModelKindName, modelKindNames } from "./kind";
import type { TrainableModelState } from "./state";
import { modelStore } from "./store";

/** A user that was never created, with no active models. */
const noUser = { exists: false, deleted: false, activeVoiceModelId: null, activeFaceModelId: null };

/**
 * The tables of a voice or face model aggregate: Register names the user it belongs to; Activate needs the
 * model's owner and the owner's active model of this kind.
 */
export function trainableModelPersistence<K extends ModelKind>(definition: TrainableModelDefinition<K>) {
  const kind: K = definition.type;
  const name: ModelKindName<K> = modelKindNames[kind];
  const register = `Register${name}` as const;
  const activate = `Activate${name}` as const;
  async function resolveRefs(
    command: TrainableModelCommand<K>,
    state: TrainableModelState,
    client: SqlClient,
  ): Promise<ResolvedTrainableModelCommand<K>> {
    if (command.type === register) {
      const { userId } = command as { userId: string };
      const user: UserRef = asUserRef(await loadUserRef(client, userId));
      return { ...command, refs: { user } } as ResolvedTrainableModelCommand<K>;
    }
    if (command.type === activate) {
      // A model that does not exist has no user; its decider answers NOT_FOUND before looking at refs.
      const user = state.version === 0 ? noUser : await loadUserRef(client, state.userId);
      const activeModelId = kind === "voice_model" ? user.activeVoiceModelId : user.activeFaceModelId;
      return {
        ...command,
        refs: { user: { exists: user.exists, deleted: user.deleted, activeModelId } },
      } as ResolvedTrainableModelCommand<K>;
    }
    return command as ResolvedTrainableModelCommand<K>;
  }
  return definePersistence(definition, { store: modelStore(kind), resolveRefs, ownerColumn: "user_id" });
}
