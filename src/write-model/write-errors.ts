/** What an error thrown by a command's write means, from what Postgres and the write model throw. */

import { VersionConflict } from "../db/sql-client";
import { AppError } from "../errors";
import { aggregateStores } from "./stores";

/** Serialization failure, deadlock: a concurrent transaction won; try again on fresh state. */
const RETRYABLE_PG_CODES = new Set(["40001", "40P01"]);

/** The unique constraints that mean ALREADY_EXISTS, from every aggregate's tables, with their messages. */
const alreadyExists = new Map(
  Object.values(aggregateStores).flatMap((tables) => Object.entries(tables.alreadyExists ?? {})),
);

/**
 * Maps an error thrown while applying one command: a domain answer (stored when it is a fact about the data,
 * so a retry gets it again), "retry" (concurrent change: try again on fresh state), or undefined (answer it
 * INTERNAL / UNAVAILABLE).
 */
export function mapWriteError(error: unknown): { error: AppError; store: boolean } | "retry" | undefined {
  if (error instanceof VersionConflict) return "retry";
  if (error instanceof AppError) return { error, store: false };
  const e = error as { code?: string; constraint?: string };
  if (e.code !== undefined && RETRYABLE_PG_CODES.has(e.code)) return "retry";
  if (e.code === "23505") {
    const taken = e.constraint === undefined ? undefined : alreadyExists.get(e.constraint);
    if (taken !== undefined) return { error: new AppError("ALREADY_EXISTS", taken), store: true };
    // Someone created the same aggregate, or stored the same command id, concurrently: look again.
    return "retry";
  }
  if (e.code === "23503") {
    return { error: new AppError("NOT_FOUND", "a referenced aggregate does not exist"), store: true };
  }
  return undefined;
}
