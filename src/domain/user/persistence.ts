/** The user aggregate's tables (see domain/persistence.ts). */
import { definePersistence } from "../persistence";
import { userAggregate } from "./definition";
import { userStore } from "./store";

/** Users need no facts about other aggregates; a taken email is ALREADY_EXISTS. */
export const userPersistence = definePersistence(userAggregate, {
  store: userStore,
  resolveRefs: async (command) => command,
  ownerColumn: "id",
  alreadyExists: { users_email_key: "email is already taken" },
});
