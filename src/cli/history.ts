/**
 * `cli history <type> <id>`: the audit trail of one aggregate, every page of QueryService.GetAggregateHistory
 * over gRPC, printed as a table (version, time, event, command, actor, payload) or as a JSON array.
 */
import { toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { ServiceError } from "@grpc/grpc-js";
import { createGrpcClient, mintToken } from "../gateway";
import { AggregateType } from "../gen/clone/v1/enums_pb";
import { QueryService } from "../gen/clone/v1/query_service_pb";
import { type HistoryEvent, HistoryEventSchema } from "../gen/clone/v1/read_models_pb";
import type { CallAuth, HistoryAggregateType } from "./args";
import { type CliIo, describeError } from "./rpc";
import { formatTable } from "./table";

/** Options of {@link runHistory}. */
export interface HistoryOptions {
  readonly aggregateType: HistoryAggregateType;
  readonly aggregateId: string;
  readonly auth: CallAuth;
  readonly addr: string;
  readonly timeoutMs: number | undefined;
  readonly json: boolean;
  readonly jwtSecret: string;
}

const enumOf: Record<HistoryAggregateType, AggregateType> = {
  user: AggregateType.USER,
  voice_model: AggregateType.VOICE_MODEL,
  face_model: AggregateType.FACE_MODEL,
  document: AggregateType.DOCUMENT,
  conversation: AggregateType.CONVERSATION,
};

const DEFAULT_TIMEOUT_MS = 30_000;

/** The events as a table, one row per event. */
export function formatHistory(events: readonly HistoryEvent[]): string {
  if (events.length === 0) return "no events";
  return formatTable(
    ["version", "occurred_at", "event", "command_id", "actor", "payload"],
    events.map((e) => [
      Number(e.version),
      e.occurredAt ? timestampDate(e.occurredAt).toISOString() : "-",
      e.eventType,
      e.commandId || "-",
      e.actorSubject ? `${e.actorSubject} (${e.actorRole})` : "-",
      e.payloadJson,
    ]),
  );
}

/** Reads every page and prints them; returns the exit code (0 OK, 1 the call failed). */
export async function runHistory(options: HistoryOptions, io: CliIo): Promise<number> {
  const token =
    options.auth.kind === "token"
      ? options.auth.token
      : await mintToken({
          sub: options.auth.sub,
          role: options.auth.role,
          secret: options.jwtSecret,
          expiresIn: "5m",
        });
  const client = createGrpcClient(QueryService, options.addr);
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const events: HistoryEvent[] = [];
  try {
    let pageToken = "";
    do {
      const page = await client.call(
        "getAggregateHistory",
        {
          aggregateType: enumOf[options.aggregateType],
          aggregateId: options.aggregateId,
          pageSize: 500,
          pageToken,
        },
        { token, deadline },
      );
      events.push(...page.events);
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
  } catch (error) {
    if (typeof (error as Partial<ServiceError>).code !== "number") throw error;
    io.err(describeError(error as ServiceError));
    return 1;
  } finally {
    client.close();
  }
  io.out(
    options.json
      ? JSON.stringify(
          events.map((e) => toJson(HistoryEventSchema, e)),
          null,
          2,
        )
      : formatHistory(events),
  );
  return 0;
}
