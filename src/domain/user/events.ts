/** Events of the user aggregate. */
import type { Event } from "../decider";

/** A user was created. */
export type UserCreated = Event<
  "user.created",
  {
    readonly userId: string;
    readonly email: string;
    readonly displayName: string;
    readonly createdAt: string;
  }
>;

/** The profile changed; only the fields that actually changed are present. */
export type UserProfileUpdated = Event<
  "user.profile_updated",
  {
    readonly userId: string;
    readonly email?: string;
    readonly displayName?: string;
    readonly updatedAt: string;
  }
>;

/** The user was deleted. */
export type UserDeleted = Event<"user.deleted", { readonly userId: string; readonly deletedAt: string }>;

/** Any event of the user aggregate. */
export type UserEvent = UserCreated | UserProfileUpdated | UserDeleted;

/** The user event types, in the order of API.md. */
export const userEventTypes = [
  "user.created",
  "user.profile_updated",
  "user.deleted",
] as const satisfies readonly UserEvent["type"][];
