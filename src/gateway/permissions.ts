/**
 * Authorisation helpers for handlers: a `user` may act only on its own aggregates, `service` and `admin` on
 * any. The per-command rules are the aggregates' (src/domain/registry.ts, applied by commands/authorize.ts).
 */
import type { Actor } from "../contracts";
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
