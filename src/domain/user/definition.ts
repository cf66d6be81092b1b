/** The user aggregate's definition (see domain/definition.ts). */
import { defineAggregate } from "../definition";
import type { UserCommand } from "./commands";
import { userDecider } from "./decider";
import { userStore } from "./store";

/** Users: created by themselves (or a service), need no facts about other aggregates. */
export const userAggregate = defineAggregate({
  type: "user",
  decider: userDecider,
  store: userStore,
  resolveRefs: async (command: UserCommand) => command,
  ownerColumn: "id",
  access: { privileged: [], creates: ["CreateUser"] },
  keepState: false,
  alreadyExists: { users_email_key: "email is already taken" },
});
