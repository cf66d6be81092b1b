/**
 * The rows of the read views as `pg` returns them with default type parsing (see src/db/pool.ts): uuid and
 * text as string, integer and double precision as number, bigint as string, timestamptz as Date.
 * NULL means "not applicable / not yet" (no active model, not processed, never used); the query side maps
 * it to the protobuf default.
 */

/** A `user_profile_view` row (message UserProfile). */
export interface UserProfileRow {
  readonly user_id: string;
  readonly email: string;
  readonly display_name: string;
  readonly active_voice_model_id: string | null;
  readonly active_voice_model_name: string | null;
  readonly active_face_model_id: string | null;
  readonly active_face_model_name: string | null;
  readonly created_at: Date;
  readonly updated_at: Date;
  /** bigint: the user aggregate's version. */
  readonly version: string;
}

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

/** A `document_summary_view` row (message DocumentSummary). */
export interface DocumentSummaryRow {
  readonly document_id: string;
  readonly user_id: string;
  readonly title: string;
  readonly content_type: string;
  readonly status: "UPLOADED" | "PROCESSED" | "FAILED";
  readonly size_bytes: number;
  readonly word_count: number | null;
  readonly chunk_count: number | null;
  readonly failure_reason: string | null;
  readonly uploaded_at: Date;
  readonly processed_at: Date | null;
}

/** A `conversation_session_summary_view` row (message ConversationSummary). */
export interface ConversationSummaryRow {
  readonly conversation_id: string;
  readonly user_id: string;
  readonly status: "ACTIVE" | "ENDED";
  readonly voice_model_id: string | null;
  readonly face_model_id: string | null;
  readonly turn_count: number;
  readonly user_turns: number;
  readonly clone_turns: number;
  /** bigint. */
  readonly total_audio_ms: string;
  readonly avg_clone_latency_ms: number;
  readonly started_at: Date;
  readonly ended_at: Date | null;
  readonly last_turn_at: Date | null;
}

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

/** The row type of each view. */
export interface ViewRows {
  readonly user_profile_view: UserProfileRow;
  readonly user_statistics_view: UserStatisticsRow;
  readonly document_summary_view: DocumentSummaryRow;
  readonly conversation_session_summary_view: ConversationSummaryRow;
  readonly voice_model_summary_view: VoiceModelSummaryRow;
  readonly face_model_summary_view: FaceModelSummaryRow;
}
