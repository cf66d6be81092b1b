/** What the query definitions share: request parsing, access rules, row mapping. */
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { z } from "zod";
import { violationsOf } from "../../commands/validation/violations";
import type { Actor } from "../../contracts";
import { AppError } from "../../errors";
import { isPrivileged } from "../../gateway";
import type { OwnerLookup, SqlClient } from "../../write-model";
import type { PageTokens } from "../pagination";
import { type ReadSource, VIEWS } from "../read-source";

/** What every query definition may use. */
export interface QueryDeps {
  /** The primary (the write model). */
  readonly db: SqlClient;
  /** Where the read views are read (a replica of `db`, or `db` itself). */
  readonly readDb?: SqlClient;
  readonly ownerOf: OwnerLookup;
  readonly pageTokens: PageTokens;
}

/** A UUID field (protobuf string). */
export const uuidField = z
  .string()
  .refine((s) => s !== "", "is required")
  .pipe(z.uuid("must be a UUID"))
  .transform((s) => s.toLowerCase());

/** The database a source is read from: the write model on the primary, the views where they are read. */
export function clientFor(deps: Pick<QueryDeps, "db" | "readDb">, source: ReadSource): SqlClient {
  return source.writeModel ? deps.db : (deps.readDb ?? deps.db);
}

/**
 * A query function that prepares its statement once per connection under `name` and the source's suffix
 * (the read side's queries are few and hot: Postgres parses and plans each once per source).
 */
export function named(db: SqlClient, name: string, source: ReadSource = VIEWS) {
  // biome-ignore lint/suspicious/noExplicitAny: rows are mapped field by field by each query, as pg types them
  return <R extends Record<string, any> = Record<string, any>>(text: string, values: unknown[]) =>
    db.query<R>({ name: source.statement(name), text, values });
}

/** Parses a request with a zod schema, reporting every violation as INVALID_ARGUMENT. */
export function parseRequest<S extends z.ZodType>(schema: S, request: unknown): z.output<S> {
  const result = schema.safeParse(request);
  if (!result.success) throw AppError.invalid(violationsOf(result.error));
  return result.data;
}

/** A user reads only its own data; service and admin read anything. */
export async function requireOwnUser(actor: Actor, userId: string): Promise<void> {
  if (!isPrivileged(actor) && actor.sub !== userId) {
    throw new AppError("PERMISSION_DENIED", "a user may read only its own data");
  }
}

/** The same for a conversation: NOT_FOUND when it does not exist (for anyone), PERMISSION_DENIED when not theirs. */
export async function requireOwnConversation(
  deps: Pick<QueryDeps, "ownerOf">,
  actor: Actor,
  conversationId: string,
): Promise<void> {
  const owner = await deps.ownerOf("conversation", conversationId);
  if (owner === undefined) throw new AppError("NOT_FOUND", `conversation ${conversationId} not found`);
  if (!isPrivileged(actor) && owner !== actor.sub) {
    throw new AppError("PERMISSION_DENIED", "a user may read only its own data");
  }
}

/** A timestamp column as `google.protobuf.Timestamp` (undefined when null). */
export function ts(value: Date | string | null | undefined) {
  if (value === null || value === undefined) return undefined;
  return timestampFromDate(value instanceof Date ? value : new Date(value));
}

/** A bigint/numeric column (pg returns text for int8) as a JS number. */
export const num = (value: string | number | null | undefined): number => (value == null ? 0 : Number(value));

/** The same as bigint, for int64 fields. */
export const big = (value: string | number | null | undefined): bigint =>
  value == null ? 0n : BigInt(typeof value === "number" ? Math.round(value) : value);

/** Decodes a page token ("" = first page). */
export function pageAfter(
  deps: QueryDeps,
  token: string,
  queryType: string,
  filters: Record<string, unknown>,
): readonly (string | number)[] | null {
  return token === "" ? null : deps.pageTokens.decode(token, queryType, filters);
}
