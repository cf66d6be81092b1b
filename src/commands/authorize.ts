/**
 * Who may send which command (API.md, "Who may do what"): `service` and `admin` may act on anything; a `user`
 * only on its own aggregates (CreateUser only for its own `sub`), and never record training or processing
 * results.
 */

import type { Actor } from "../contracts";
import { aggregateOf, type DomainCommand } from "../domain";
import { AppError } from "../errors";
import type { OwnerLookup } from "./owners";

const privilegedOnly = new Set<DomainCommand["type"]>([
  "CompleteVoiceModelTraining",
  "CompleteFaceModelTraining",
  "RecordDocumentProcessing",
]);

/** The user a new aggregate will belong to, for commands that create one. */
function newOwnerOf(command: DomainCommand): string | undefined {
  switch (command.type) {
    case "CreateUser":
    case "RegisterVoiceModel":
    case "RegisterFaceModel":
    case "UploadDocument":
    case "StartConversation":
      return command.userId;
    default:
      return undefined;
  }
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
  if (privilegedOnly.has(command.type)) {
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
