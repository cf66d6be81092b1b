-- 0004: the read views of the query side, and how they are refreshed.
--
-- Each of the six views has ONE definition, a plain SQL view `<name>_source` over the write model, and a
-- TABLE `<name>` that holds its rows and is maintained like a materialized view: a refresh computes the
-- rows the source yields, upserts those that changed and deletes those the source no longer yields.
--
-- Why tables and not MATERIALIZED VIEWs: a materialized view can only be refreshed whole (REFRESH ...
-- CONCURRENTLY recomputes every row and diffs them, so its cost grows with the data); Postgres refuses
-- INSERT/UPDATE/DELETE on one, so it cannot be brought up to date row by row. The consistency worker must
-- follow each event in milliseconds by recomputing only the rows it touched, so the rows live in a table
-- and both refreshes run the same diff (below) against the same `_source` view:
--   * keyed: `refresh_read_view_keys(view, key_column, keys)` recomputes the rows whose key column (the
--     view's primary key, or user_id) is in `keys`; its WHERE pushes down into the source, whose
--     aggregates are LATERAL subqueries correlated on the row's key, so it costs a few index lookups;
--   * full: `refresh_read_view_full(view)` recomputes every row (repair, backfill, after a migration);
--     `refresh_all_materialized_views()` does it for all six.
-- Like REFRESH ... CONCURRENTLY, readers are never blocked (plain MVCC row writes, no table lock) and see
-- each row either as it was or as it is after the refresh; rows that did not change are not written.
--
-- Refreshes of one view are serialized on its `read_view_state` row (locked first, held to commit), and
-- the diff then runs on a snapshot taken after that lock: under READ COMMITTED (required) a refresh can
-- never overwrite a newer refresh's rows with older ones. A transaction refreshing several views should
-- lock them in `read_views.ordinal` order, as `refresh_all_materialized_views()` does, to avoid deadlocks.
--
-- NULL in a view means "not applicable / not yet" (quality_score before training, word_count before
-- processing, ...); the query side maps it to the protobuf default. Counts are integer (uint32 in the API),
-- sums of milliseconds bigint, averages double precision (sum / count, 0 when there is nothing to average).

-- ---------------------------------------------------------------------------------------------------------
-- Sources: one definition per view.
-- ---------------------------------------------------------------------------------------------------------

CREATE VIEW user_profile_view_source AS
SELECT u.id AS user_id,
       u.email,
       u.display_name,
       u.active_voice_model_id,
       vm.name AS active_voice_model_name,
       u.active_face_model_id,
       fm.name AS active_face_model_name,
       u.created_at,
       u.updated_at,
       u.version
  FROM users u
  LEFT JOIN voice_models vm ON vm.id = u.active_voice_model_id
  LEFT JOIN face_models fm ON fm.id = u.active_face_model_id
 WHERE u.deleted_at IS NULL;

-- Every aggregate is a LATERAL subquery on the user's own rows (indexes by user_id), so a refresh of a few
-- users never aggregates anyone else's rows.
CREATE VIEW user_statistics_view_source AS
SELECT u.id AS user_id,
       conv.total AS conversations_total,
       conv.active AS conversations_active,
       turn.total AS turns_total,
       doc.total AS documents_total,
       doc.processed AS documents_processed,
       vm.total AS voice_models_total,
       fm.total AS face_models_total,
       turn.audio_ms AS total_audio_ms,
       turn.avg_clone_latency_ms,
       GREATEST(conv.last_at, turn.last_at, doc.last_at, vm.last_at, fm.last_at) AS last_active_at
  FROM users u
 CROSS JOIN LATERAL (
        SELECT count(*)::integer AS total,
               (count(*) FILTER (WHERE c.status = 'ACTIVE'))::integer AS active,
               GREATEST(max(c.started_at), max(c.ended_at)) AS last_at
          FROM conversations c
         WHERE c.user_id = u.id
       ) conv
 CROSS JOIN LATERAL (
        SELECT count(*)::integer AS total,
               COALESCE(sum(t.audio_ms), 0)::bigint AS audio_ms,
               COALESCE(
                 (sum(t.latency_ms) FILTER (WHERE t.speaker = 'CLONE'))::double precision
                   / NULLIF(count(*) FILTER (WHERE t.speaker = 'CLONE'), 0),
                 0
               ) AS avg_clone_latency_ms,
               max(t.recorded_at) AS last_at
          FROM conversations c
          JOIN turns t ON t.conversation_id = c.id
         WHERE c.user_id = u.id
       ) turn
 CROSS JOIN LATERAL (
        SELECT count(*)::integer AS total,
               (count(*) FILTER (WHERE d.status = 'PROCESSED'))::integer AS processed,
               max(d.uploaded_at) AS last_at
          FROM documents d
         WHERE d.user_id = u.id AND d.deleted_at IS NULL
       ) doc
 CROSS JOIN LATERAL (
        SELECT count(*)::integer AS total, max(m.created_at) AS last_at
          FROM voice_models m
         WHERE m.user_id = u.id
       ) vm
 CROSS JOIN LATERAL (
        SELECT count(*)::integer AS total, max(m.created_at) AS last_at
          FROM face_models m
         WHERE m.user_id = u.id
       ) fm
 WHERE u.deleted_at IS NULL;

CREATE VIEW document_summary_view_source AS
SELECT d.id AS document_id,
       d.user_id,
       d.title,
       d.content_type,
       d.status,
       d.size_bytes,
       d.word_count,
       d.chunk_count,
       d.failure_reason,
       d.uploaded_at,
       d.processed_at
  FROM documents d
  JOIN users u ON u.id = d.user_id
 WHERE d.deleted_at IS NULL AND u.deleted_at IS NULL;

-- last_turn_at is the time of the LAST turn (highest sequence), not the latest clock reading: timestamps
-- come from several processes' clocks.
CREATE VIEW conversation_session_summary_view_source AS
SELECT c.id AS conversation_id,
       c.user_id,
       c.status,
       c.voice_model_id,
       c.face_model_id,
       turn.total AS turn_count,
       turn.user_turns,
       turn.clone_turns,
       turn.audio_ms AS total_audio_ms,
       turn.avg_clone_latency_ms,
       c.started_at,
       c.ended_at,
       last_turn.recorded_at AS last_turn_at
  FROM conversations c
  JOIN users u ON u.id = c.user_id
 CROSS JOIN LATERAL (
        SELECT count(*)::integer AS total,
               (count(*) FILTER (WHERE t.speaker = 'USER'))::integer AS user_turns,
               (count(*) FILTER (WHERE t.speaker = 'CLONE'))::integer AS clone_turns,
               COALESCE(sum(t.audio_ms), 0)::bigint AS audio_ms,
               COALESCE(
                 (sum(t.latency_ms) FILTER (WHERE t.speaker = 'CLONE'))::double precision
                   / NULLIF(count(*) FILTER (WHERE t.speaker = 'CLONE'), 0),
                 0
               ) AS avg_clone_latency_ms
          FROM turns t
         WHERE t.conversation_id = c.id
       ) turn
  LEFT JOIN LATERAL (
        SELECT t.recorded_at
          FROM turns t
         WHERE t.conversation_id = c.id
         ORDER BY t.sequence DESC
         LIMIT 1
       ) last_turn ON true
 WHERE u.deleted_at IS NULL;

-- A model is used by the conversations started with it; its clone turns are the CLONE turns of those.
CREATE VIEW voice_model_summary_view_source AS
SELECT m.id AS voice_model_id,
       m.user_id,
       m.name,
       m.status,
       m.quality_score,
       u.active_voice_model_id IS NOT DISTINCT FROM m.id AS is_active,
       conv.total AS conversations_count,
       turn.total AS clone_turns_count,
       turn.audio_ms AS total_audio_ms,
       GREATEST(conv.last_at, turn.last_at) AS last_used_at,
       m.created_at
  FROM voice_models m
  JOIN users u ON u.id = m.user_id
 CROSS JOIN LATERAL (
        SELECT count(*)::integer AS total, max(c.started_at) AS last_at
          FROM conversations c
         WHERE c.voice_model_id = m.id
       ) conv
 CROSS JOIN LATERAL (
        SELECT count(*)::integer AS total,
               COALESCE(sum(t.audio_ms), 0)::bigint AS audio_ms,
               max(t.recorded_at) AS last_at
          FROM conversations c
          JOIN turns t ON t.conversation_id = c.id
         WHERE c.voice_model_id = m.id AND t.speaker = 'CLONE'
       ) turn
 WHERE u.deleted_at IS NULL;

CREATE VIEW face_model_summary_view_source AS
SELECT m.id AS face_model_id,
       m.user_id,
       m.name,
       m.status,
       m.quality_score,
       u.active_face_model_id IS NOT DISTINCT FROM m.id AS is_active,
       conv.total AS conversations_count,
       turn.total AS clone_turns_count,
       turn.audio_ms AS total_audio_ms,
       GREATEST(conv.last_at, turn.last_at) AS last_used_at,
       m.created_at
  FROM face_models m
  JOIN users u ON u.id = m.user_id
 CROSS JOIN LATERAL (
        SELECT count(*)::integer AS total, max(c.started_at) AS last_at
          FROM conversations c
         WHERE c.face_model_id = m.id
       ) conv
 CROSS JOIN LATERAL (
        SELECT count(*)::integer AS total,
               COALESCE(sum(t.audio_ms), 0)::bigint AS audio_ms,
               max(t.recorded_at) AS last_at
          FROM conversations c
          JOIN turns t ON t.conversation_id = c.id
         WHERE c.face_model_id = m.id AND t.speaker = 'CLONE'
       ) turn
 WHERE u.deleted_at IS NULL;

-- ---------------------------------------------------------------------------------------------------------
-- The views' rows: tables maintained like materialized views (see the header), same columns as the source.
-- ---------------------------------------------------------------------------------------------------------

CREATE TABLE user_profile_view (
  user_id                 uuid        PRIMARY KEY,
  email                   text        NOT NULL,
  display_name            text        NOT NULL,
  active_voice_model_id   uuid        NULL,
  active_voice_model_name text        NULL,
  active_face_model_id    uuid        NULL,
  active_face_model_name  text        NULL,
  created_at              timestamptz NOT NULL,
  updated_at              timestamptz NOT NULL,
  version                 bigint      NOT NULL
);

CREATE TABLE user_statistics_view (
  user_id              uuid             PRIMARY KEY,
  conversations_total  integer          NOT NULL,
  conversations_active integer          NOT NULL,
  turns_total          integer          NOT NULL,
  documents_total      integer          NOT NULL,
  documents_processed  integer          NOT NULL,
  voice_models_total   integer          NOT NULL,
  face_models_total    integer          NOT NULL,
  total_audio_ms       bigint           NOT NULL,
  avg_clone_latency_ms double precision NOT NULL,
  last_active_at       timestamptz      NULL
);

CREATE TABLE document_summary_view (
  document_id    uuid        PRIMARY KEY,
  user_id        uuid        NOT NULL,
  title          text        NOT NULL,
  content_type   text        NOT NULL,
  status         text        NOT NULL,
  size_bytes     integer     NOT NULL,
  word_count     integer     NULL,
  chunk_count    integer     NULL,
  failure_reason text        NULL,
  uploaded_at    timestamptz NOT NULL,
  processed_at   timestamptz NULL
);

-- ListDocuments: a user's documents newest first, keyset-paginated on (uploaded_at, document_id), with or
-- without a status filter. The first index also serves refreshes keyed by user_id.
CREATE INDEX document_summary_view_user_idx
  ON document_summary_view (user_id, uploaded_at DESC, document_id DESC);
CREATE INDEX document_summary_view_user_status_idx
  ON document_summary_view (user_id, status, uploaded_at DESC, document_id DESC);

CREATE TABLE conversation_session_summary_view (
  conversation_id      uuid             PRIMARY KEY,
  user_id              uuid             NOT NULL,
  status               text             NOT NULL,
  voice_model_id       uuid             NULL,
  face_model_id        uuid             NULL,
  turn_count           integer          NOT NULL,
  user_turns           integer          NOT NULL,
  clone_turns          integer          NOT NULL,
  total_audio_ms       bigint           NOT NULL,
  avg_clone_latency_ms double precision NOT NULL,
  started_at           timestamptz      NOT NULL,
  ended_at             timestamptz      NULL,
  last_turn_at         timestamptz      NULL
);

-- ListConversations: newest first, keyset-paginated on (started_at, conversation_id).
CREATE INDEX conversation_session_summary_view_user_idx
  ON conversation_session_summary_view (user_id, started_at DESC, conversation_id DESC);

CREATE TABLE voice_model_summary_view (
  voice_model_id      uuid             PRIMARY KEY,
  user_id             uuid             NOT NULL,
  name                text             NOT NULL,
  status              text             NOT NULL,
  quality_score       double precision NULL,
  is_active           boolean          NOT NULL,
  conversations_count integer          NOT NULL,
  clone_turns_count   integer          NOT NULL,
  total_audio_ms      bigint           NOT NULL,
  last_used_at        timestamptz      NULL,
  created_at          timestamptz      NOT NULL
);

-- ListVoiceModels: a user's models in registration order.
CREATE INDEX voice_model_summary_view_user_idx
  ON voice_model_summary_view (user_id, created_at, voice_model_id);

CREATE TABLE face_model_summary_view (
  face_model_id       uuid             PRIMARY KEY,
  user_id             uuid             NOT NULL,
  name                text             NOT NULL,
  status              text             NOT NULL,
  quality_score       double precision NULL,
  is_active           boolean          NOT NULL,
  conversations_count integer          NOT NULL,
  clone_turns_count   integer          NOT NULL,
  total_audio_ms      bigint           NOT NULL,
  last_used_at        timestamptz      NULL,
  created_at          timestamptz      NOT NULL
);

CREATE INDEX face_model_summary_view_user_idx
  ON face_model_summary_view (user_id, created_at, face_model_id);

-- ---------------------------------------------------------------------------------------------------------
-- Registry and state.
-- ---------------------------------------------------------------------------------------------------------

-- The views as data: `source` defines `name`; `key_column` is its primary key; a keyed refresh may select
-- rows by any of `refresh_columns` (the primary key, and user_id so a deleted user's rows can go at once).
-- `ordinal` is the order in which refreshes of several views lock them.
CREATE TABLE read_views (
  name            text    PRIMARY KEY,
  ordinal         integer NOT NULL UNIQUE,
  key_column      text    NOT NULL,
  source          text    NOT NULL UNIQUE,
  refresh_columns text[]  NOT NULL,
  serves          text    NOT NULL,
  CONSTRAINT read_views_refresh_columns_check CHECK (key_column = ANY (refresh_columns))
);

INSERT INTO read_views (name, ordinal, key_column, source, refresh_columns, serves) VALUES
  ('user_profile_view', 1, 'user_id', 'user_profile_view_source', '{user_id}', 'UserProfile'),
  ('user_statistics_view', 2, 'user_id', 'user_statistics_view_source', '{user_id}', 'UserStatistics'),
  ('document_summary_view', 3, 'document_id', 'document_summary_view_source', '{document_id,user_id}',
   'DocumentSummary'),
  ('conversation_session_summary_view', 4, 'conversation_id', 'conversation_session_summary_view_source',
   '{conversation_id,user_id}', 'ConversationSummary'),
  ('voice_model_summary_view', 5, 'voice_model_id', 'voice_model_summary_view_source',
   '{voice_model_id,user_id}', 'VoiceModelSummary'),
  ('face_model_summary_view', 6, 'face_model_id', 'face_model_summary_view_source',
   '{face_model_id,user_id}', 'FaceModelSummary');

-- How far each view has followed the event stream: the (transaction id, position) of the last event the
-- consistency worker applied to it, written in the same transaction as the refresh, only ever forward
-- (tokens order by that pair, see src/commands/consistency-token.ts). refreshed_at: the last refresh of
-- any rows; last_full_refresh_at: the last full refresh. The row is also the view's refresh lock.
CREATE TABLE read_view_state (
  view_name              text        PRIMARY KEY REFERENCES read_views (name),
  applied_transaction_id xid8        NOT NULL DEFAULT '0',
  applied_position       bigint      NOT NULL DEFAULT 0,
  refreshed_at           timestamptz NULL,
  last_full_refresh_at   timestamptz NULL,
  CONSTRAINT read_view_state_applied_position_check CHECK (applied_position >= 0)
);

INSERT INTO read_view_state (view_name) SELECT name FROM read_views;

-- ---------------------------------------------------------------------------------------------------------
-- Refresh functions.
-- ---------------------------------------------------------------------------------------------------------

-- The diff statement of a view: with `key_column` NULL a full refresh, else a keyed one whose keys are the
-- statement's parameter $1 (uuid[]). One statement: compute the source rows once, upsert those that differ,
-- delete those the source no longer yields; returns (upserted, deleted). Exposed so that tests and
-- operators can EXPLAIN exactly what a refresh runs.
CREATE FUNCTION read_view_refresh_statement(view_name text, key_column text)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v read_views%ROWTYPE;
  cols text;
  sets text;
  old_row text;
  new_row text;
  src_filter text := '';
  del_filter text := '';
BEGIN
  SELECT * INTO v FROM read_views r WHERE r.name = read_view_refresh_statement.view_name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown read view "%"', read_view_refresh_statement.view_name
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF read_view_refresh_statement.key_column IS NOT NULL
     AND NOT (read_view_refresh_statement.key_column = ANY (v.refresh_columns)) THEN
    RAISE EXCEPTION 'read view "%" cannot be refreshed by "%" (only by %)',
      v.name, read_view_refresh_statement.key_column, array_to_string(v.refresh_columns, ', ')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum),
         string_agg(format('%I = EXCLUDED.%I', a.attname, a.attname), ', ' ORDER BY a.attnum)
           FILTER (WHERE a.attname <> v.key_column),
         string_agg(format('t.%I', a.attname), ', ' ORDER BY a.attnum),
         string_agg(format('EXCLUDED.%I', a.attname), ', ' ORDER BY a.attnum)
    INTO cols, sets, old_row, new_row
    FROM pg_attribute a
   WHERE a.attrelid = format('%I', v.name)::regclass AND a.attnum > 0 AND NOT a.attisdropped;

  IF read_view_refresh_statement.key_column IS NOT NULL THEN
    src_filter := format(' WHERE %I = ANY ($1::uuid[])', read_view_refresh_statement.key_column);
    del_filter := format('t.%I = ANY ($1::uuid[]) AND ', read_view_refresh_statement.key_column);
  END IF;

  RETURN format(
    'WITH src AS MATERIALIZED (SELECT %1$s FROM %2$I%3$s), '
    || 'upserted AS (INSERT INTO %4$I AS t (%1$s) SELECT %1$s FROM src ORDER BY %5$I '
    || 'ON CONFLICT (%5$I) DO UPDATE SET %6$s WHERE ROW(%7$s) IS DISTINCT FROM ROW(%8$s) RETURNING 1), '
    || 'deleted AS (DELETE FROM %4$I AS t WHERE %9$s'
    || 'NOT EXISTS (SELECT 1 FROM src WHERE src.%5$I = t.%5$I) RETURNING 1) '
    || 'SELECT (SELECT count(*) FROM upserted)::integer AS upserted, '
    || '(SELECT count(*) FROM deleted)::integer AS deleted',
    cols, v.source, src_filter, v.name, v.key_column, sets, old_row, new_row, del_filter
  );
END;
$$;

-- Takes the view's refresh lock (its state row) and stamps the refresh. A separate statement on purpose:
-- under READ COMMITTED the diff that follows takes its snapshot after this lock is granted, so it sees
-- everything the previous refresh of the view saw.
CREATE FUNCTION read_view_lock(view_name text, full_refresh boolean)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE read_view_state s
     SET refreshed_at = now(),
         last_full_refresh_at = CASE WHEN full_refresh THEN now() ELSE s.last_full_refresh_at END
   WHERE s.view_name = read_view_lock.view_name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown read view "%"', read_view_lock.view_name USING ERRCODE = 'invalid_parameter_value';
  END IF;
END;
$$;

-- Recomputes the rows of `view_name` whose `key_column` (its primary key or user_id) is in `keys`: rows the
-- source yields are inserted or updated when they differ, rows it no longer yields are deleted.
CREATE FUNCTION refresh_read_view_keys(view_name text, key_column text, keys uuid[],
                                       OUT upserted integer, OUT deleted integer)
LANGUAGE plpgsql AS $$
DECLARE
  stmt text := read_view_refresh_statement(view_name, key_column);
BEGIN
  IF key_column IS NULL THEN
    RAISE EXCEPTION 'key_column is required' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  upserted := 0;
  deleted := 0;
  IF keys IS NULL OR cardinality(keys) = 0 THEN
    RETURN;
  END IF;
  PERFORM read_view_lock(view_name, false);
  EXECUTE stmt INTO upserted, deleted USING keys;
END;
$$;

-- Recomputes every row of `view_name` (the same diff for all keys).
CREATE FUNCTION refresh_read_view_full(view_name text, OUT upserted integer, OUT deleted integer)
LANGUAGE plpgsql AS $$
DECLARE
  stmt text := read_view_refresh_statement(view_name, NULL);
BEGIN
  PERFORM read_view_lock(view_name, true);
  EXECUTE stmt INTO upserted, deleted;
END;
$$;

-- Full refresh of the six views, in registry order; returns the number of rows written or deleted.
CREATE FUNCTION refresh_all_materialized_views()
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v record;
  r record;
  changed integer := 0;
BEGIN
  FOR v IN SELECT name FROM read_views ORDER BY ordinal LOOP
    SELECT * INTO r FROM refresh_read_view_full(v.name);
    changed := changed + r.upserted + r.deleted;
  END LOOP;
  RETURN changed;
END;
$$;
