/** The user aggregate's definition (see domain/definition.ts); its tables are `persistence.ts`'s. */
import { defineAggregate } from "../definition";
import type { UserCommand } from "./commands";
import { userDecider } from "./decider";
import { userEventTypes } from "./events";

/** Users: created by themselves (or a service). */
export const userAggregate = defineAggregate({
  type: "user",
  decider: userDecider,
  commandTypes: ["CreateUser", "UpdateUserProfile", "DeleteUser"],
  eventTypes: userEventTypes,
  target: (command: UserCommand) => command.userId,
  access: { privileged: [], creates: ["CreateUser"] },
  keepState: false,
});
