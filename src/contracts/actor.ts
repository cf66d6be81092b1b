/** Who calls: what the gateway takes from a verified JWT and what travels with every command. */

/** A caller's role: the JWT's `role` claim. */
export type Role = "user" | "service" | "admin";

/** The authenticated caller of a command or query: the JWT's `sub` and `role`. */
export interface Actor {
  readonly sub: string;
  readonly role: Role;
}
