/** ListConversations (keyset pages, newest first) and GetConversationHistory (summary + turns by sequence). */
import { z } from "zod";
import { AppError } from "../../errors";
import { ConversationStatus, Speaker } from "../../gen/clone/v1/enums_pb";
import { conversationSummaryColumns, userScope } from "../../read-models";
import { pageSize } from "../pagination";
import type { QueryDefinition } from "../query-bus";
import {
  big,
  clientFor,
  named,
  num,
  pageAfter,
  parseRequest,
  type QueryDeps,
  requireOwnConversation,
  requireOwnUser,
  ts,
  uuidField,
} from "./common";

/** A conversation_session_summary_view row as `ConversationSummary`. */
export function toConversationSummary(r: Record<string, unknown>) {
  return {
    conversationId: r.conversation_id as string,
    userId: r.user_id as string,
    status: r.status === "ENDED" ? ConversationStatus.ENDED : ConversationStatus.ACTIVE,
    voiceModelId: (r.voice_model_id as string | null) ?? "",
    faceModelId: (r.face_model_id as string | null) ?? "",
    turnCount: num(r.turn_count as number),
    userTurns: num(r.user_turns as number),
    cloneTurns: num(r.clone_turns as number),
    totalAudioMs: big(r.total_audio_ms as string),
    avgCloneLatencyMs: Number(r.avg_clone_latency_ms ?? 0),
    startedAt: ts(r.started_at as Date),
    endedAt: ts(r.ended_at as Date | null),
    lastTurnAt: ts(r.last_turn_at as Date | null),
  };
}

/** A turns row as `Turn`. */
export function toTurn(r: Record<string, unknown>) {
  return {
    sequence: num(r.sequence as number),
    speaker: r.speaker === "CLONE" ? Speaker.CLONE : Speaker.USER,
    text: r.text as string,
    audioMs: num(r.audio_ms as string),
    latencyMs: num(r.latency_ms as string),
    recordedAt: ts(r.recorded_at as Date),
  };
}

const listSchema = z.object({ userId: uuidField, pageSize: z.number(), pageToken: z.string() });

interface ListParams {
  readonly userId: string;
  readonly pageSize: number;
  readonly after: readonly (string | number)[] | null;
}

/** ListConversations from conversation_session_summary_view. */
export function listConversations(deps: QueryDeps): QueryDefinition<ListParams> {
  return {
    queryType: "ListConversations",
    parse(request) {
      const r = parseRequest(listSchema, request);
      return {
        userId: r.userId,
        pageSize: pageSize(r.pageSize),
        after: pageAfter(deps, r.pageToken, "ListConversations", { userId: r.userId }),
      };
    },
    authorize: (actor, p) => requireOwnUser(actor, p.userId),
    async load(p, source) {
      const res = await named(
        clientFor(deps, source),
        "list_conversations",
        source,
      )(
        `SELECT ${conversationSummaryColumns}, started_at::text AS started_at_key FROM ${source.relation("conversation_session_summary_view")}
          WHERE user_id = $1
            AND ($2::timestamptz IS NULL OR (started_at, conversation_id) < ($2::timestamptz, $3::uuid))
          ORDER BY started_at DESC, conversation_id DESC
          LIMIT $4`,
        [p.userId, p.after?.[0] ?? null, p.after?.[1] ?? null, p.pageSize + 1],
      );
      const rows = res.rows.slice(0, p.pageSize);
      const last = rows.at(-1);
      return {
        conversations: rows.map(toConversationSummary),
        nextPageToken:
          res.rows.length > p.pageSize && last
            ? deps.pageTokens.encode("ListConversations", { userId: p.userId }, [
                last.started_at_key,
                last.conversation_id,
              ])
            : "",
      };
    },
  };
}

const historySchema = z.object({ conversationId: uuidField, pageSize: z.number(), pageToken: z.string() });

interface HistoryParams {
  readonly conversationId: string;
  readonly pageSize: number;
  readonly after: number;
}

/**
 * GetConversationHistory: the summary from conversation_session_summary_view and the turns, by sequence,
 * from the append-only `turns` log (a turn never changes once recorded, so it needs no view of its own).
 */
export function getConversationHistory(deps: QueryDeps): QueryDefinition<HistoryParams> {
  return {
    queryType: "GetConversationHistory",
    parse(request) {
      const r = parseRequest(historySchema, request);
      const after = pageAfter(deps, r.pageToken, "GetConversationHistory", {
        conversationId: r.conversationId,
      });
      return {
        conversationId: r.conversationId,
        pageSize: pageSize(r.pageSize),
        after: Number(after?.[0] ?? 0),
      };
    },
    authorize: (actor, p) => requireOwnConversation(deps, actor, p.conversationId),
    // The owner's tag too, so that the user's deletion drops the turns' text from every cache.
    async ownerTags(p) {
      const owner = await deps.ownerOf("conversation", p.conversationId);
      return owner === undefined ? [] : [userScope.tag(owner)];
    },
    async load(p, source) {
      const summary = await named(
        clientFor(deps, source),
        "conversation_summary",
        source,
      )(
        `SELECT ${conversationSummaryColumns} FROM ${source.relation("conversation_session_summary_view")} WHERE conversation_id = $1`,
        [p.conversationId],
      );
      const s = summary.rows[0];
      if (!s) throw new AppError("NOT_FOUND", `conversation ${p.conversationId} not found`);
      const turns = await named(
        clientFor(deps, source),
        "conversation_turns",
        source,
      )(
        `SELECT sequence, speaker, text, audio_ms, latency_ms, recorded_at FROM turns
          WHERE conversation_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3`,
        [p.conversationId, p.after, p.pageSize + 1],
      );
      const rows = turns.rows.slice(0, p.pageSize);
      const last = rows.at(-1);
      return {
        summary: toConversationSummary(s),
        turns: rows.map(toTurn),
        nextPageToken:
          turns.rows.length > p.pageSize && last
            ? deps.pageTokens.encode("GetConversationHistory", { conversationId: p.conversationId }, [
                last.sequence,
              ])
            : "",
      };
    },
  };
}
