/**
 * Facts about other aggregates that a command's rules need, looked up by the command handler before it
 * calls `decide` (deciders stay pure and see only their own aggregate's state).
 */
import type { ModelStatus } from "./trainable-model/state";

/** What a decider needs to know about a user that a command refers to. */
export interface UserRef {
  /** A user with this id was ever created. */
  readonly exists: boolean;
  /** The user was deleted (only meaningful when `exists`). */
  readonly deleted: boolean;
}

/** A user together with its active voice and face models (ids, or null when it has none). */
export interface UserWithActiveModelsRef extends UserRef {
  readonly activeVoiceModelId: string | null;
  readonly activeFaceModelId: string | null;
}

/** A user together with its currently active model of the kind being activated. */
export interface UserWithActiveModelRef extends UserRef {
  readonly activeModelId: string | null;
}

/** What a decider needs to know about a voice or face model that a command names. */
export type ModelRef =
  | { readonly exists: false }
  | { readonly exists: true; readonly userId: string; readonly status: ModelStatus };

/** The ref of a user that was never created. */
export const missingUser: UserRef = { exists: false, deleted: false };

/** The ref of a model that was never registered. */
export const missingModel: ModelRef = { exists: false };

/** True when the referenced user can be acted upon (exists and is not deleted). */
export function isLiveUser(user: UserRef): boolean {
  return user.exists && !user.deleted;
}
