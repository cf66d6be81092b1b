/** GetUserProfile and GetUserStatistics. */
import { z } from "zod";
import { AppError } from "../../errors";
import { userStatisticsColumns } from "../../read-models";
import type { QueryDefinition } from "../query-bus";
import {
  big,
  clientFor,
  named,
  num,
  parseRequest,
  type QueryDeps,
  requireOwnUser,
  ts,
  uuidField,
} from "./common";

const byUser = z.object({ userId: uuidField });
type ByUser = z.output<typeof byUser>;

/** GetUserProfile: from user_profile_view. */
export function getUserProfile(deps: QueryDeps): QueryDefinition<ByUser> {
  return {
    queryType: "GetUserProfile",
    parse: (request) => parseRequest(byUser, request),
    authorize: (actor, p) => requireOwnUser(actor, p.userId),
    async load(p, source) {
      const res = await named(
        clientFor(deps, source),
        "user_profile",
        source,
      )(
        `SELECT user_id, email, display_name, active_voice_model_id, active_voice_model_name, active_face_model_id,
                active_face_model_name, created_at, updated_at, version
           FROM ${source.relation("user_profile_view")} WHERE user_id = $1`,
        [p.userId],
      );
      const r = res.rows[0];
      if (!r) throw new AppError("NOT_FOUND", `user ${p.userId} not found`);
      return {
        profile: {
          userId: r.user_id,
          email: r.email,
          displayName: r.display_name,
          activeVoiceModelId: r.active_voice_model_id ?? "",
          activeVoiceModelName: r.active_voice_model_name ?? "",
          activeFaceModelId: r.active_face_model_id ?? "",
          activeFaceModelName: r.active_face_model_name ?? "",
          createdAt: ts(r.created_at),
          updatedAt: ts(r.updated_at),
          version: big(r.version),
        },
      };
    },
  };
}

/** GetUserStatistics: from user_statistics_view. */
export function getUserStatistics(deps: QueryDeps): QueryDefinition<ByUser> {
  return {
    queryType: "GetUserStatistics",
    parse: (request) => parseRequest(byUser, request),
    authorize: (actor, p) => requireOwnUser(actor, p.userId),
    async load(p, source) {
      const res = await named(
        clientFor(deps, source),
        "user_statistics",
        source,
      )(
        `SELECT ${userStatisticsColumns} FROM ${source.relation("user_statistics_view")} WHERE user_id = $1`,
        [p.userId],
      );
      const r = res.rows[0];
      if (!r) throw new AppError("NOT_FOUND", `user ${p.userId} not found`);
      return {
        statistics: {
          userId: r.user_id,
          conversationsTotal: num(r.conversations_total),
          conversationsActive: num(r.conversations_active),
          turnsTotal: num(r.turns_total),
          documentsTotal: num(r.documents_total),
          documentsProcessed: num(r.documents_processed),
          voiceModelsTotal: num(r.voice_models_total),
          faceModelsTotal: num(r.face_models_total),
          totalAudioMs: big(r.total_audio_ms),
          avgCloneLatencyMs: Number(r.avg_clone_latency_ms ?? 0),
          lastActiveAt: ts(r.last_active_at),
        },
      };
    },
  };
}
