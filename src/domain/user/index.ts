export type { CreateUser, DeleteUser, UpdateUserProfile, UserCommand } from "./commands";
export { userDecider } from "./decider";
export type { UserCreated, UserDeleted, UserEvent, UserProfileUpdated } from "./events";
export { userEventTypes } from "./events";
export type { UserState } from "./state";
export { initialUserState } from "./state";
