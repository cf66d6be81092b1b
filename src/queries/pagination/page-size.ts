/** Page sizes of the List/Search queries (API.md: default 50, max 500). */
import { AppError } from "../../errors";

/** The page size used when a request leaves `page_size` unset (0). */
export const DEFAULT_PAGE_SIZE = 50;

/** The largest page served; larger requests are served pages of this size. */
export const MAX_PAGE_SIZE = 500;

/**
 * The page size to serve for a requested `page_size`: 0 (unset) gives {@link DEFAULT_PAGE_SIZE}, anything
 * above {@link MAX_PAGE_SIZE} is lowered to it.
 * @throws AppError INVALID_ARGUMENT with a violation on `page_size` when negative or not an integer.
 */
export function pageSize(requested: number): number {
  if (!Number.isInteger(requested)) {
    throw AppError.invalid([{ field: "page_size", description: "must be an integer" }]);
  }
  if (requested < 0) throw AppError.invalid([{ field: "page_size", description: "must not be negative" }]);
  if (requested === 0) return DEFAULT_PAGE_SIZE;
  return Math.min(requested, MAX_PAGE_SIZE);
}
