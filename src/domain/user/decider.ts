/**
 * Business rules of users.
 *
 * - CreateUser: an id that was ever used (even by a deleted user) is ALREADY_EXISTS. Email uniqueness
 *   (case-insensitive) spans users, so the database enforces it, not this decider.
 * - UpdateUserProfile: NOT_FOUND when missing or deleted. The event lists only fields whose value changes
 *   (compared exactly, so a change of letter case in the email is a change); when nothing changes the
 *   command succeeds with no events and the version stays as it is.
 * - DeleteUser: NOT_FOUND when missing or already deleted.
 */
import type { AppError } from "../../errors";
import type { DecideContext, Decider } from "../decider";
import { alreadyExists, notFound } from "../rejections";
import type { CreateUser, DeleteUser, UpdateUserProfile, UserCommand } from "./commands";
import type { UserEvent, UserProfileUpdated } from "./events";
import { initialUserState, type UserState } from "./state";

type Decision = readonly UserEvent[] | AppError;

function isLive(state: UserState): boolean {
  return state.version > 0 && !state.deleted;
}

function createUser(command: CreateUser, state: UserState, ctx: DecideContext): Decision {
  if (state.version > 0) return alreadyExists("user", command.userId);
  return [
    {
      type: "user.created",
      data: {
        userId: command.userId,
        email: command.email,
        displayName: command.displayName,
        createdAt: ctx.now.toISOString(),
      },
    },
  ];
}

function updateUserProfile(command: UpdateUserProfile, state: UserState, ctx: DecideContext): Decision {
  if (!isLive(state)) return notFound("user", command.userId);
  const email = command.email !== undefined && command.email !== state.email ? command.email : undefined;
  const displayName =
    command.displayName !== undefined && command.displayName !== state.displayName
      ? command.displayName
      : undefined;
  if (email === undefined && displayName === undefined) return [];
  const data: UserProfileUpdated["data"] = {
    userId: command.userId,
    ...(email === undefined ? {} : { email }),
    ...(displayName === undefined ? {} : { displayName }),
    updatedAt: ctx.now.toISOString(),
  };
  return [{ type: "user.profile_updated", data }];
}

function deleteUser(command: DeleteUser, state: UserState, ctx: DecideContext): Decision {
  if (!isLive(state)) return notFound("user", command.userId);
  return [{ type: "user.deleted", data: { userId: command.userId, deletedAt: ctx.now.toISOString() } }];
}

function evolve(state: UserState, event: UserEvent): UserState {
  const version = state.version + 1;
  switch (event.type) {
    case "user.created": {
      const { userId, email, displayName, createdAt } = event.data;
      return { ...state, version, userId, email, displayName, createdAt, updatedAt: createdAt };
    }
    case "user.profile_updated":
      return {
        ...state,
        version,
        email: event.data.email ?? state.email,
        displayName: event.data.displayName ?? state.displayName,
        updatedAt: event.data.updatedAt,
      };
    case "user.deleted":
      return {
        ...state,
        version,
        deleted: true,
        deletedAt: event.data.deletedAt,
        updatedAt: event.data.deletedAt,
      };
    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

/** The user decider. */
export const userDecider: Decider<UserCommand, UserEvent, UserState> = {
  initialState: () => initialUserState,
  decide(command, state, ctx) {
    switch (command.type) {
      case "CreateUser":
        return createUser(command, state, ctx);
      case "UpdateUserProfile":
        return updateUserProfile(command, state, ctx);
      case "DeleteUser":
        return deleteUser(command, state, ctx);
      default: {
        const _exhaustive: never = command;
        return _exhaustive;
      }
    }
  },
  evolve,
};
