/**
 * Constructors for the domain errors deciders return (never throw): one message style for all aggregates.
 */
import { AppError } from "../errors";

/** NOT_FOUND: the aggregate (or one the command refers to) does not exist or was deleted. */
export function notFound(what: string, id: string): AppError {
  return new AppError("NOT_FOUND", `${what} ${id} not found`);
}

/** ALREADY_EXISTS: the id of a new aggregate is already used (even by a deleted one). */
export function alreadyExists(what: string, id: string): AppError {
  return new AppError("ALREADY_EXISTS", `${what} ${id} already exists`);
}

/** FAILED_PRECONDITION: a domain rule forbids the command in the aggregate's current state. */
export function failedPrecondition(message: string): AppError {
  return new AppError("FAILED_PRECONDITION", message);
}
