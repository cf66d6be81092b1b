/**
 * voice_model_summary_view and face_model_summary_view: one row per model, with its use in conversations
 * (ListVoiceModels, ListFaceModels). The two kinds have one shape, so one file.
 */
import {
  conversationEventTypes,
  type EventType,
  faceModelEventTypes,
  voiceModelEventTypes,
} from "../../domain";
import {
  byUserId,
  defineView,
  type EventKeys,
  keys,
  onEach,
  selectList,
  userScope,
} from "../view-definition";

/**
 * The model's own events (activation also refreshes the model it replaced), the conversations that use it
 * (`conversationField` of a conversation event names it), and its user's deletion.
 */
function modelEvents(
  modelEventTypes: readonly EventType[],
  keyColumn: string,
  conversationField: string,
): Partial<Record<EventType, EventKeys>> {
  return {
    ...onEach(modelEventTypes, keys(keyColumn, "modelId")),
    ...onEach(
      modelEventTypes.filter((t) => t.endsWith(".activated")),
      keys(keyColumn, "modelId", "previousModelId"),
    ),
    ...onEach(conversationEventTypes, keys(keyColumn, conversationField)),
    "user.deleted": byUserId,
  };
}

/** A voice model's summary. */
export const voiceModelSummaryView = defineView({
  name: "voice_model_summary_view",
  keyColumn: "voice_model_id",
  serves: "VoiceModelSummary",
  on: modelEvents(voiceModelEventTypes, "voice_model_id", "voiceModelId"),
  queries: { ListVoiceModels: userScope },
});

/** A face model's summary. */
export const faceModelSummaryView = defineView({
  name: "face_model_summary_view",
  keyColumn: "face_model_id",
  serves: "FaceModelSummary",
  on: modelEvents(faceModelEventTypes, "face_model_id", "faceModelId"),
  queries: { ListFaceModels: userScope },
});

/** The columns common to both model summary views. */
interface ModelSummaryColumns {
  readonly user_id: string;
  readonly name: string;
  readonly status: "PENDING" | "TRAINED" | "FAILED";
  readonly quality_score: number | null;
  readonly is_active: boolean;
  readonly conversations_count: number;
  readonly clone_turns_count: number;
  /** bigint. */
  readonly total_audio_ms: string;
  readonly last_used_at: Date | null;
  readonly created_at: Date;
}

/** A `voice_model_summary_view` row (message VoiceModelSummary). */
export interface VoiceModelSummaryRow extends ModelSummaryColumns {
  readonly voice_model_id: string;
}

/** A `face_model_summary_view` row (message FaceModelSummary). */
export interface FaceModelSummaryRow extends ModelSummaryColumns {
  readonly face_model_id: string;
}

const modelSummaryColumns = [
  "user_id",
  "name",
  "status",
  "quality_score",
  "is_active",
  "conversations_count",
  "clone_turns_count",
  "total_audio_ms",
  "last_used_at",
  "created_at",
] as const;

/** The columns of a `voice_model_summary_view` row, as queries select them. */
export const voiceModelSummaryColumns = selectList<VoiceModelSummaryRow>([
  "voice_model_id",
  ...modelSummaryColumns,
]);

/** The columns of a `face_model_summary_view` row, as queries select them. */
export const faceModelSummaryColumns = selectList<FaceModelSummaryRow>([
  "face_model_id",
  ...modelSummaryColumns,
]);
