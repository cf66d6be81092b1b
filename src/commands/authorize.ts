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
 * Checks that `actor` may send `command`: at once (throwing) when it can tell without the owner of the target,
 * or when that owner is known already; else the returned promise settles once the owner was read.
 * @throws AppError PERMISSION_DENIED, or NOT_FOUND when a user names an aggregate that does not exist.
 */
export function authorizeCommand(
  actor: Actor,
  command: DomainCommand,
  ownerOf: OwnerLookup,
): Promise<void> | undefined {
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
  const known = ownerOf.known?.(target.type, target.id);
  if (known !== undefined) {
    checkOwner(actor, known);
    return;
  }
  return ownerOf(target.type, target.id).then((owner) => {
    if (owner === undefined)
      throw new AppError("NOT_FOUND", `${target.type.replace("_", " ")} ${target.id} not found`);
    checkOwner(actor, owner);
  });
}

function checkOwner(actor: Actor, owner: string): void {
  if (owner !== actor.sub) throw new AppError("PERMISSION_DENIED", "a user may act only on its own data");
}
