/** user_statistics_view: one row per user, counting its conversations, turns, documents and models. */
import { conversationEventTypes, documentEventTypes } from "../../domain";
import { byUserId, defineView, onEach, selectList, userScope } from "../view-definition";

/** A user's statistics. */
export const userStatisticsView = defineView({
  name: "user_statistics_view",
  keyColumn: "user_id",
  serves: "UserStatistics",
  on: onEach(
    [
      "user.created",
      "user.deleted",
      "voice_model.registered",
      "face_model.registered",
      ...documentEventTypes,
      ...conversationEventTypes,
    ],
    byUserId,
  ),
  queries: { GetUserStatistics: userScope },
});

/** A `user_statistics_view` row (message UserStatistics). */
export interface UserStatisticsRow {
  readonly user_id: string;
  readonly conversations_total: number;
  readonly conversations_active: number;
  readonly turns_total: number;
  readonly documents_total: number;
  readonly documents_processed: number;
  readonly voice_models_total: number;
  readonly face_models_total: number;
  /** bigint. */
  readonly total_audio_ms: string;
  readonly avg_clone_latency_ms: number;
  readonly last_active_at: Date | null;
}

/** The columns of a `user_statistics_view` row, as queries select them. */
export const userStatisticsColumns = selectList<UserStatisticsRow>([
  "user_id",
  "conversations_total",
  "conversations_active",
  "turns_total",
  "documents_total",
  "documents_processed",
  "voice_models_total",
  "face_models_total",
  "total_audio_ms",
  "avg_clone_latency_ms",
  "last_active_at",
]);
