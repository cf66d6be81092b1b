/**
 * A setting or an option that cannot work: an invalid environment variable, a missing URL for a role, an
 * option of a component out of its range. It is the operator's or the programmer's to fix, never a caller's,
 * so it has no status code (it never reaches a client: it stops a process from starting). Every check of
 * settings and options throws this one type; a caller's bad input is an {@link AppError}.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}
