/**
 * Test support: changes of views as their migrations would make them, built beside the old versions (see
 * README.md, "Changing a view").
 */
export const faceModelSummaryNextVersion = `
CREATE VIEW face_model_summary_view__next_source AS
SELECT m.id AS face_model_id, m.user_id, m.name, m.status, m.quality_score,
       u.active_face_model_id IS NOT DISTINCT FROM m.id AS is_active,
       conv.total AS conversations_count, turn.total AS clone_turns_count, turn.audio_ms AS total_audio_ms,
       GREATEST(conv.last_at, turn.last_at) AS last_used_at, m.created_at,
       CASE WHEN conv.total = 0 THEN 0 ELSE turn.total::double precision / conv.total END AS average_clone_turns
  FROM face_models m
  JOIN users u ON u.id = m.user_id
 CROSS JOIN LATERAL (
        SELECT count(*)::integer AS total, max(c.started_at) AS last_at
          FROM conversations c WHERE c.face_model_id = m.id) conv
 CROSS JOIN LATERAL (
        SELECT count(*)::integer AS total, COALESCE(sum(t.audio_ms), 0)::bigint AS audio_ms, max(t.recorded_at) AS last_at
          FROM conversations c JOIN turns t ON t.conversation_id = c.id
         WHERE c.face_model_id = m.id AND t.speaker = 'CLONE') turn
 WHERE u.deleted_at IS NULL;
CREATE TABLE face_model_summary_view__next (LIKE face_model_summary_view INCLUDING ALL);
ALTER TABLE face_model_summary_view__next ADD COLUMN average_clone_turns double precision NOT NULL;
SELECT read_view_begin_build('face_model_summary_view');
`;

/** A change of user_profile_view: display_name in upper case (a changed expression, the same columns). */
export const userProfileNextVersion = `
CREATE VIEW user_profile_view__next_source AS
SELECT u.id AS user_id, u.email, upper(u.display_name) AS display_name,
       u.active_voice_model_id, vm.name AS active_voice_model_name,
       u.active_face_model_id, fm.name AS active_face_model_name,
       u.created_at, u.updated_at, u.version
  FROM users u
  LEFT JOIN voice_models vm ON vm.id = u.active_voice_model_id
  LEFT JOIN face_models fm ON fm.id = u.active_face_model_id
 WHERE u.deleted_at IS NULL;
CREATE TABLE user_profile_view__next (LIKE user_profile_view INCLUDING ALL);
SELECT read_view_begin_build('user_profile_view');
`;
