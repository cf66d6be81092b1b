/**
 * GetAggregateHistory: the audit trail of one aggregate, its events in version order from the `events`
 * table of the write model (append-only, one row per event with the command id and the actor in its
 * metadata), a page at a time (keyset on the version). A `user` reads only its own aggregates (the owner is
 * resolved like a command's). Personal data in the payloads of a deleted user's aggregates is redacted.
 */
import { z } from "zod";
import type { AggregateType } from "../../contracts";
import { encodeToken } from "../../contracts";
import { AppError } from "../../errors";
import { isPrivileged } from "../../gateway";
import { AggregateType as AggregateTypeEnum } from "../../gen/clone/v1/enums_pb";
import { pageSize } from "../pagination";
import type { QueryDefinition } from "../query-bus";
import { named, num, pageAfter, parseRequest, type QueryDeps, ts, uuidField } from "./common";

const aggregateTypes: Record<number, AggregateType> = {
  [AggregateTypeEnum.USER]: "user",
  [AggregateTypeEnum.VOICE_MODEL]: "voice_model",
  [AggregateTypeEnum.FACE_MODEL]: "face_model",
  [AggregateTypeEnum.DOCUMENT]: "document",
  [AggregateTypeEnum.CONVERSATION]: "conversation",
};
const enumOf = Object.fromEntries(Object.entries(aggregateTypes).map(([k, v]) => [v, Number(k)])) as Record<
  AggregateType,
  AggregateTypeEnum
>;

/** Payload fields that hold personal data: replaced once their user is deleted. */
const PERSONAL_FIELDS = new Set(["email", "displayName", "text", "title", "name", "failureReason"]);
/** What a redacted field reads. */
export const REDACTED = "[redacted]";

const schema = z.object({
  aggregateType: z.number().refine((t) => t in aggregateTypes, "must be an AggregateType (not UNSPECIFIED)"),
  aggregateId: uuidField,
  pageSize: z.number(),
  pageToken: z.string(),
});

interface HistoryParams {
  readonly aggregateType: AggregateType;
  readonly aggregateId: string;
  readonly pageSize: number;
  readonly afterVersion: number;
}

interface EventRow {
  event_id: string;
  type: string;
  aggregate_version: string;
  tx: string;
  position: string;
  metadata: { commandId?: string; actor?: { sub?: string; role?: string } };
  payload: Record<string, unknown>;
  committed_at: Date;
  redact: boolean;
}

function payloadJson(payload: Record<string, unknown>, redact: boolean): string {
  if (!redact) return JSON.stringify(payload);
  return JSON.stringify(
    Object.fromEntries(Object.entries(payload).map(([k, v]) => [k, PERSONAL_FIELDS.has(k) ? REDACTED : v])),
  );
}

/** GetAggregateHistory from the write model (never cached: it is always current). */
export function getAggregateHistory(deps: QueryDeps): QueryDefinition<HistoryParams> {
  /** The aggregate's owning user: NOT_FOUND when the aggregate does not exist. */
  async function ownerOf(p: HistoryParams): Promise<string> {
    const owner = await deps.ownerOf(p.aggregateType, p.aggregateId);
    if (owner === undefined) throw new AppError("NOT_FOUND", `${p.aggregateType} ${p.aggregateId} not found`);
    return owner;
  }
  return {
    queryType: "GetAggregateHistory",
    writeModelOnly: true,
    parse(request) {
      const r = parseRequest(schema, request);
      const aggregateType = aggregateTypes[r.aggregateType] as AggregateType;
      const after = pageAfter(deps, r.pageToken, "GetAggregateHistory", {
        aggregateType,
        aggregateId: r.aggregateId,
      });
      return {
        aggregateType,
        aggregateId: r.aggregateId,
        pageSize: pageSize(r.pageSize),
        afterVersion: Number(after?.[0] ?? 0),
      };
    },
    async authorize(actor, p) {
      const owner = await ownerOf(p);
      if (!isPrivileged(actor) && owner !== actor.sub) {
        throw new AppError("PERMISSION_DENIED", "a user may read only its own data");
      }
    },
    async load(p) {
      const owner = await ownerOf(p);
      const res = await named(deps.db, "aggregate_history")<EventRow>(
        `SELECT e.event_id, e.type, e.aggregate_version, e.transaction_id::text AS tx, e.position, e.metadata,
                e.payload, e.committed_at,
                EXISTS (SELECT 1 FROM users u WHERE u.id = $3 AND u.deleted_at IS NOT NULL) AS redact
           FROM events e
          WHERE e.aggregate_id = $1 AND e.aggregate_type = $2 AND e.aggregate_version > $4
          ORDER BY e.aggregate_version
          LIMIT $5`,
        [p.aggregateId, p.aggregateType, owner, p.afterVersion, p.pageSize + 1],
      );
      const rows = res.rows.slice(0, p.pageSize);
      const last = rows.at(-1);
      return {
        events: rows.map((r) => ({
          eventId: r.event_id,
          eventType: r.type,
          aggregateType: enumOf[p.aggregateType],
          aggregateId: p.aggregateId,
          version: BigInt(r.aggregate_version),
          consistencyToken: encodeToken({ transactionId: BigInt(r.tx), position: BigInt(r.position) }),
          commandId: r.metadata.commandId ?? "",
          actorSubject: r.metadata.actor?.sub ?? "",
          actorRole: r.metadata.actor?.role ?? "",
          occurredAt: ts(r.committed_at),
          payloadJson: payloadJson(r.payload, r.redact),
        })),
        nextPageToken:
          res.rows.length > p.pageSize && last
            ? deps.pageTokens.encode(
                "GetAggregateHistory",
                { aggregateType: p.aggregateType, aggregateId: p.aggregateId },
                [num(last.aggregate_version)],
              )
            : "",
      };
    },
  };
}
