/**
 * Who may send which command (API.md, "Who may do what"): `service` and `admin` may act on anything; a `user`
 * only on its own aggregates (a command that creates one only for its own `sub`), and never send the commands
 * its definition's access rules keep for services (training and processing results). The rules are each
 * aggregate's (`access` in src/domain/<aggregate>/definition.ts).
 */

import type { Actor } from "../contracts";
import { aggregateOf, creatingCommands, type DomainCommand, privilegedCommands } from "../domain";
import { AppError } from "../errors";
import type { OwnerLookup } from "../write-model";

/** The user a new aggregate will belong to, for commands that create one. */
function newOwnerOf(command: DomainCommand): string | undefined {
  return creatingCommands.has(command.type) ? (command as { userId: string }).userId : undefined;
}

/**
 * Checks that `actor` may send `command`.
 * @throws AppError PERMISSION_DENIED, or NOT_FOUND when a user names an aggregate that does not exist.
 */
export async function authorizeCommand(
  actor: Actor,
  command: DomainCommand,
  ownerOf: OwnerLookup,
): Promise<void> {
  if (actor.role === "service" || actor.role === "admin") return;
  if (privilegedCommands.has(command.type)) {
    throw new AppError("PERMISSION_DENIED", `${command.type} is for the service and admin roles only`);
  }
  const newOwner = newOwnerOf(command);
  if (newOwner !== undefined) {
    if (newOwner !== actor.sub)
      throw new AppError("PERMISSION_DENIED", "a user may act only on its own data");
    return;
  }
  const target = aggregateOf(command);
  const owner = await ownerOf(target.type, target.id);
  if (owner === undefined)
    throw new AppError("NOT_FOUND", `${target.type.replace("_", " ")} ${target.id} not found`);
  if (owner !== actor.sub) throw new AppError("PERMISSION_DENIED", "a user may act only on its own data");
}
