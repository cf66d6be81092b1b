-- 0001: the write model (current state of every aggregate).
--
-- Conventions: ids are uuids chosen by the domain; every aggregate row carries `version` (its number of
-- applied events, so >= 1) for optimistic concurrency; statuses are upper-case text with a CHECK, not enums,
-- so adding a value is a one-line migration. Constraints forbid every bad state SQL can express; the rest
-- (an active model must be TRAINED, a turn only on an ACTIVE conversation, turn sequence = turn_count + 1)
-- is the domain's job. Timestamps are not ordered against each other (updated_at >= created_at, ...):
-- they come from the clocks of several processes, and a little skew must not turn a valid command into an
-- error. Read views are not created here.

CREATE TABLE users (
  id                    uuid        PRIMARY KEY,
  email                 text        NOT NULL,
  display_name          text        NOT NULL,
  active_voice_model_id uuid        NULL,
  active_face_model_id  uuid        NULL,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  deleted_at            timestamptz NULL,
  version               bigint      NOT NULL,
  CONSTRAINT users_email_check CHECK (char_length(email) BETWEEN 3 AND 320 AND email LIKE '_%@_%'),
  CONSTRAINT users_display_name_check CHECK (char_length(display_name) BETWEEN 1 AND 100),
  CONSTRAINT users_version_check CHECK (version >= 1)
);

-- Case-insensitive uniqueness among live users only: a deleted user's email may be taken again, while the
-- deleted row stays (its id can never be reused). Upserts must name it as
-- `ON CONFLICT (lower(email)) WHERE deleted_at IS NULL`.
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE deleted_at IS NULL;

-- Voice and face models share one shape. UNIQUE (user_id, id) lets users and conversations reference a model
-- together with its owner, so "the model belongs to this user" is a foreign key, not a hope; it also serves
-- lookups by user.
CREATE TABLE voice_models (
  id             uuid             PRIMARY KEY,
  user_id        uuid             NOT NULL REFERENCES users (id),
  name           text             NOT NULL,
  sample_seconds double precision NOT NULL,
  status         text             NOT NULL DEFAULT 'PENDING',
  quality_score  double precision NULL,
  failure_reason text             NULL,
  created_at     timestamptz      NOT NULL DEFAULT now(),
  trained_at     timestamptz      NULL,
  updated_at     timestamptz      NOT NULL DEFAULT now(),
  version        bigint           NOT NULL,
  CONSTRAINT voice_models_user_id_id_key UNIQUE (user_id, id),
  CONSTRAINT voice_models_name_check CHECK (char_length(name) BETWEEN 1 AND 200),
  -- NaN and Infinity compare greater than every number in Postgres, so the upper bound excludes both.
  CONSTRAINT voice_models_sample_seconds_check CHECK (sample_seconds > 0 AND sample_seconds < 'Infinity'),
  CONSTRAINT voice_models_status_check CHECK (status IN ('PENDING', 'TRAINED', 'FAILED')),
  CONSTRAINT voice_models_quality_score_check CHECK (quality_score BETWEEN 0 AND 1),
  CONSTRAINT voice_models_pending_check
    CHECK (status <> 'PENDING' OR (quality_score IS NULL AND trained_at IS NULL)),
  CONSTRAINT voice_models_trained_check
    CHECK (status <> 'TRAINED' OR (quality_score IS NOT NULL AND trained_at IS NOT NULL)),
  CONSTRAINT voice_models_failure_reason_check CHECK (status = 'FAILED' OR failure_reason IS NULL),
  CONSTRAINT voice_models_version_check CHECK (version >= 1)
);

CREATE TABLE face_models (
  id             uuid             PRIMARY KEY,
  user_id        uuid             NOT NULL REFERENCES users (id),
  name           text             NOT NULL,
  sample_seconds double precision NOT NULL,
  status         text             NOT NULL DEFAULT 'PENDING',
  quality_score  double precision NULL,
  failure_reason text             NULL,
  created_at     timestamptz      NOT NULL DEFAULT now(),
  trained_at     timestamptz      NULL,
  updated_at     timestamptz      NOT NULL DEFAULT now(),
  version        bigint           NOT NULL,
  CONSTRAINT face_models_user_id_id_key UNIQUE (user_id, id),
  CONSTRAINT face_models_name_check CHECK (char_length(name) BETWEEN 1 AND 200),
  CONSTRAINT face_models_sample_seconds_check CHECK (sample_seconds > 0 AND sample_seconds < 'Infinity'),
  CONSTRAINT face_models_status_check CHECK (status IN ('PENDING', 'TRAINED', 'FAILED')),
  CONSTRAINT face_models_quality_score_check CHECK (quality_score BETWEEN 0 AND 1),
  CONSTRAINT face_models_pending_check
    CHECK (status <> 'PENDING' OR (quality_score IS NULL AND trained_at IS NULL)),
  CONSTRAINT face_models_trained_check
    CHECK (status <> 'TRAINED' OR (quality_score IS NOT NULL AND trained_at IS NOT NULL)),
  CONSTRAINT face_models_failure_reason_check CHECK (status = 'FAILED' OR failure_reason IS NULL),
  CONSTRAINT face_models_version_check CHECK (version >= 1)
);

-- The active model must be one of the user's own (composite key with the owner). MATCH SIMPLE: a NULL
-- active id is not checked. That it is TRAINED is left to the domain.
ALTER TABLE users
  ADD CONSTRAINT users_active_voice_model_fkey
    FOREIGN KEY (id, active_voice_model_id) REFERENCES voice_models (user_id, id),
  ADD CONSTRAINT users_active_face_model_fkey
    FOREIGN KEY (id, active_face_model_id) REFERENCES face_models (user_id, id);

CREATE INDEX users_active_voice_model_id_idx ON users (active_voice_model_id)
  WHERE active_voice_model_id IS NOT NULL;
CREATE INDEX users_active_face_model_id_idx ON users (active_face_model_id)
  WHERE active_face_model_id IS NOT NULL;

CREATE TABLE documents (
  id             uuid        PRIMARY KEY,
  user_id        uuid        NOT NULL REFERENCES users (id),
  title          text        NOT NULL,
  content_type   text        NOT NULL,
  content        bytea       NOT NULL,
  size_bytes     integer     NOT NULL,
  status         text        NOT NULL DEFAULT 'UPLOADED',
  word_count     integer     NULL,
  chunk_count    integer     NULL,
  failure_reason text        NULL,
  uploaded_at    timestamptz NOT NULL DEFAULT now(),
  processed_at   timestamptz NULL,
  deleted_at     timestamptz NULL,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  version        bigint      NOT NULL,
  CONSTRAINT documents_title_check CHECK (char_length(title) BETWEEN 1 AND 300),
  CONSTRAINT documents_content_type_check
    CHECK (content_type IN ('text/plain', 'text/markdown', 'application/json')),
  CONSTRAINT documents_size_bytes_check CHECK (size_bytes BETWEEN 0 AND 2097152 AND size_bytes = octet_length(content)),
  CONSTRAINT documents_status_check CHECK (status IN ('UPLOADED', 'PROCESSED', 'FAILED')),
  CONSTRAINT documents_counts_check CHECK (word_count >= 0 AND chunk_count >= 0),
  CONSTRAINT documents_uploaded_check CHECK (
    status <> 'UPLOADED'
    OR (word_count IS NULL AND chunk_count IS NULL AND processed_at IS NULL AND failure_reason IS NULL)
  ),
  CONSTRAINT documents_processed_check CHECK (
    status <> 'PROCESSED'
    OR (word_count IS NOT NULL AND chunk_count IS NOT NULL AND processed_at IS NOT NULL AND failure_reason IS NULL)
  ),
  CONSTRAINT documents_failed_check CHECK (status <> 'FAILED' OR failure_reason IS NOT NULL),
  CONSTRAINT documents_version_check CHECK (version >= 1)
);

CREATE INDEX documents_user_id_idx ON documents (user_id, uploaded_at);

CREATE TABLE document_chunks (
  document_id uuid    NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  chunk_index integer NOT NULL,
  content     text    NOT NULL,
  word_count  integer NOT NULL,
  tsv         tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, content)) STORED,
  PRIMARY KEY (document_id, chunk_index),
  CONSTRAINT document_chunks_chunk_index_check CHECK (chunk_index >= 0),
  CONSTRAINT document_chunks_word_count_check CHECK (word_count >= 0)
);

CREATE INDEX document_chunks_tsv_idx ON document_chunks USING gin (tsv);

-- A conversation's models must belong to its user (composite keys as for users' active models).
CREATE TABLE conversations (
  id             uuid        PRIMARY KEY,
  user_id        uuid        NOT NULL REFERENCES users (id),
  voice_model_id uuid        NULL,
  face_model_id  uuid        NULL,
  status         text        NOT NULL DEFAULT 'ACTIVE',
  turn_count     integer     NOT NULL DEFAULT 0,
  started_at     timestamptz NOT NULL DEFAULT now(),
  ended_at       timestamptz NULL,
  updated_at     timestamptz NOT NULL DEFAULT now(),
  version        bigint      NOT NULL,
  CONSTRAINT conversations_voice_model_fkey
    FOREIGN KEY (user_id, voice_model_id) REFERENCES voice_models (user_id, id),
  CONSTRAINT conversations_face_model_fkey
    FOREIGN KEY (user_id, face_model_id) REFERENCES face_models (user_id, id),
  CONSTRAINT conversations_status_check CHECK (status IN ('ACTIVE', 'ENDED')),
  CONSTRAINT conversations_ended_at_status_check CHECK ((status = 'ENDED') = (ended_at IS NOT NULL)),
  CONSTRAINT conversations_turn_count_check CHECK (turn_count >= 0),
  CONSTRAINT conversations_version_check CHECK (version >= 1)
);

CREATE INDEX conversations_user_id_idx ON conversations (user_id, started_at);
CREATE INDEX conversations_voice_model_id_idx ON conversations (voice_model_id) WHERE voice_model_id IS NOT NULL;
CREATE INDEX conversations_face_model_id_idx ON conversations (face_model_id) WHERE face_model_id IS NOT NULL;

-- audio_ms and latency_ms are uint32 in the API.
CREATE TABLE turns (
  conversation_id uuid        NOT NULL REFERENCES conversations (id),
  sequence        integer     NOT NULL,
  speaker         text        NOT NULL,
  text            text        NOT NULL,
  audio_ms        bigint      NOT NULL,
  latency_ms      bigint      NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (conversation_id, sequence),
  CONSTRAINT turns_sequence_check CHECK (sequence >= 1),
  CONSTRAINT turns_speaker_check CHECK (speaker IN ('USER', 'CLONE')),
  CONSTRAINT turns_text_check CHECK (char_length(text) BETWEEN 1 AND 10000),
  CONSTRAINT turns_audio_ms_check CHECK (audio_ms BETWEEN 0 AND 4294967295),
  CONSTRAINT turns_latency_ms_check CHECK (latency_ms BETWEEN 0 AND 4294967295)
);
