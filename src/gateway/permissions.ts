/**
 * Authorisation helpers for handlers: a `user` may act only on its own aggregates, `service` and `admin` on
 * any. Handlers call these once they know who owns the aggregate; failures are PERMISSION_DENIED.
 */
import type { Actor, Role } from "../contracts";
import { AppError } from "../errors";

/** True for roles that may act on any user's aggregates. */
export function isPrivileged(actor: Actor): boolean {
  return actor.role === "service" || actor.role === "admin";
}

/** The actor of an authenticated call; UNAUTHENTICATED when there is none (a public service, a bug). */
export function requireActor(actor: Actor | undefined): Actor {
  if (actor === undefined) throw new AppError("UNAUTHENTICATED", "this call needs an authenticated caller");
  return actor;
}

/** The actor, if its role is one of `allowed`; PERMISSION_DENIED otherwise. */
export function requireRole(actor: Actor | undefined, allowed: readonly Role[]): Actor {
  const a = requireActor(actor);
  if (!allowed.includes(a.role)) {
    throw new AppError(
      "PERMISSION_DENIED",
      `role "${a.role}" may not do this; needs ${allowed.join(" or ")}`,
    );
  }
  return a;
}

/** The actor, if it is the user `userId` itself or a service/admin; PERMISSION_DENIED otherwise. */
export function requireSelfOrPrivileged(actor: Actor | undefined, userId: string): Actor {
  const a = requireActor(actor);
  if (!isPrivileged(a) && a.sub !== userId) {
    throw new AppError("PERMISSION_DENIED", "a user may act only on its own data");
  }
  return a;
}
