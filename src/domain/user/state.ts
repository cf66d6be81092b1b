/** State of the user aggregate: what a row of the users table holds. */
import type { Versioned } from "../decider";

/** A user; `version` 0 means it does not exist (the other fields are then empty). */
export interface UserState extends Versioned {
  readonly userId: string;
  readonly email: string;
  readonly displayName: string;
  /** Deleted users keep their row (so their id stays used) but reject every command with NOT_FOUND. */
  readonly deleted: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly deletedAt: string | null;
}

/** The state of a user that was never created. */
export const initialUserState: UserState = {
  version: 0,
  userId: "",
  email: "",
  displayName: "",
  deleted: false,
  createdAt: "",
  updatedAt: "",
  deletedAt: null,
};
