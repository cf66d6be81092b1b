/** Commands of the user aggregate; `type` is the RPC name. Ids are already resolved by the gateway. */

/** Creates a user; `email` and `displayName` are validated (display name trimmed) before they get here. */
export interface CreateUser {
  readonly type: "CreateUser";
  readonly userId: string;
  readonly email: string;
  readonly displayName: string;
}

/** Changes the profile; a field left `undefined` is not changed. */
export interface UpdateUserProfile {
  readonly type: "UpdateUserProfile";
  readonly userId: string;
  readonly email?: string | undefined;
  readonly displayName?: string | undefined;
}

/** Deletes the user; its reads disappear and later commands on it are NOT_FOUND. */
export interface DeleteUser {
  readonly type: "DeleteUser";
  readonly userId: string;
}

/** Any command of the user aggregate (none of them needs refs). */
export type UserCommand = CreateUser | UpdateUserProfile | DeleteUser;
