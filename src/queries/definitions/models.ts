/** ListVoiceModels and ListFaceModels (one shape, one module). */
import { z } from "zod";
import { ModelStatus } from "../../gen/clone/v1/enums_pb";
import { faceModelSummaryColumns, voiceModelSummaryColumns } from "../../read-models";
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

const statuses: Record<string, ModelStatus> = {
  PENDING: ModelStatus.PENDING,
  TRAINED: ModelStatus.TRAINED,
  FAILED: ModelStatus.FAILED,
};

/** ListVoiceModels or ListFaceModels: a user's models, oldest first. */
export function listModels(deps: QueryDeps, kind: "voice" | "face"): QueryDefinition<ByUser> {
  const view = kind === "voice" ? "voice_model_summary_view" : "face_model_summary_view";
  const id = kind === "voice" ? "voice_model_id" : "face_model_id";
  return {
    queryType: kind === "voice" ? "ListVoiceModels" : "ListFaceModels",
    parse: (request) => parseRequest(byUser, request),
    authorize: (actor, p) => requireOwnUser(actor, p.userId),
    async load(p, source) {
      const res = await named(
        clientFor(deps, source),
        view,
        source,
      )(
        `SELECT ${kind === "voice" ? voiceModelSummaryColumns : faceModelSummaryColumns} FROM ${source.relation(view)} WHERE user_id = $1 ORDER BY created_at, ${id}`,
        [p.userId],
      );
      const models = res.rows.map((r) => ({
        ...(kind === "voice" ? { voiceModelId: r.voice_model_id } : { faceModelId: r.face_model_id }),
        userId: r.user_id,
        name: r.name,
        status: statuses[r.status] ?? ModelStatus.UNSPECIFIED,
        qualityScore: r.quality_score ?? 0,
        isActive: r.is_active,
        conversationsCount: num(r.conversations_count),
        cloneTurnsCount: num(r.clone_turns_count),
        totalAudioMs: big(r.total_audio_ms),
        lastUsedAt: ts(r.last_used_at),
      }));
      return kind === "voice" ? { voiceModels: models } : { faceModels: models };
    },
  };
}
