-- 0002: the command path: idempotency records and the transactional outbox of events.
--
-- A command's state change, its events and its command_results row are written in one transaction, so
-- either all three exist or none does.

-- The stored outcome of each command, keyed by the client's idempotency key. A retry with the same key and
-- the same payload_hash gets `result` back; a different hash is INVALID_ARGUMENT. `result` is a JSON object:
-- {"ok": true, ...} or a serialized domain error. Old rows are pruned by created_at.
CREATE TABLE command_results (
  command_id     text        PRIMARY KEY,
  command_type   text        NOT NULL,
  aggregate_type text        NOT NULL,
  aggregate_id   uuid        NULL,
  payload_hash   text        NOT NULL,
  result         jsonb       NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT command_results_command_id_check CHECK (char_length(command_id) BETWEEN 1 AND 256),
  CONSTRAINT command_results_command_type_check CHECK (command_type <> ''),
  CONSTRAINT command_results_aggregate_type_check
    CHECK (aggregate_type IN ('user', 'voice_model', 'face_model', 'document', 'conversation')),
  CONSTRAINT command_results_payload_hash_check CHECK (payload_hash <> ''),
  CONSTRAINT command_results_result_check CHECK (jsonb_typeof(result) = 'object')
);

CREATE INDEX command_results_created_at_idx ON command_results (created_at);

-- The outbox. `position` is a global, gap-tolerant order (sequences are not transactional, so a rolled-back
-- append leaves a hole). Transactions can commit in a different order than they drew positions, so a relay
-- must not publish a row merely because it is visible: it publishes only rows whose writer finished before
-- every transaction still running, `transaction_id < pg_snapshot_xmin(pg_current_snapshot())`, in
-- (transaction_id, position) order, which never goes back. (Ordering by position alone is not safe: a
-- transaction can hold an older xid yet draw a later position than one still running.)
-- `type` is "<aggregate_type>.<what happened>", e.g. "voice_model.trained".
CREATE TABLE events (
  position          bigint      NOT NULL GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME events_position_seq),
  event_id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  aggregate_type    text        NOT NULL,
  aggregate_id      uuid        NOT NULL,
  aggregate_version bigint      NOT NULL,
  type              text        NOT NULL,
  payload           jsonb       NOT NULL DEFAULT '{}',
  metadata          jsonb       NOT NULL DEFAULT '{}',
  committed_at      timestamptz NOT NULL DEFAULT now(),
  transaction_id    xid8        NOT NULL DEFAULT pg_current_xact_id(),
  published_at      timestamptz NULL,
  CONSTRAINT events_position_key UNIQUE (position),
  CONSTRAINT events_aggregate_id_aggregate_version_key UNIQUE (aggregate_id, aggregate_version),
  CONSTRAINT events_aggregate_type_check
    CHECK (aggregate_type IN ('user', 'voice_model', 'face_model', 'document', 'conversation')),
  CONSTRAINT events_type_check CHECK (type ~ '^[a-z_]+\.[a-z_]+$' AND split_part(type, '.', 1) = aggregate_type),
  CONSTRAINT events_aggregate_version_check CHECK (aggregate_version >= 1),
  CONSTRAINT events_payload_check CHECK (jsonb_typeof(payload) = 'object'),
  CONSTRAINT events_metadata_check CHECK (jsonb_typeof(metadata) = 'object')
);

-- What the relay scans: the few unpublished rows.
CREATE INDEX events_unpublished_idx ON events (transaction_id, position) WHERE published_at IS NULL;
CREATE INDEX events_committed_at_idx ON events (committed_at);

-- Events are facts: once written only published_at may change (the relay marks or re-marks them).
-- Deleting (pruning) stays possible.
CREATE FUNCTION events_forbid_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF (to_jsonb(NEW) - 'published_at') IS DISTINCT FROM (to_jsonb(OLD) - 'published_at') THEN
    RAISE EXCEPTION 'events are immutable: only published_at may be updated (event %)', OLD.event_id
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER events_forbid_update
  BEFORE UPDATE ON events
  FOR EACH ROW EXECUTE FUNCTION events_forbid_update();

-- Wakes a relay that LISTENs on clone_outbox. Statement level, and Postgres folds identical notifications
-- of one transaction into one, delivered at commit: one wake-up per appending transaction.
CREATE FUNCTION events_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('clone_outbox', '');
  RETURN NULL;
END;
$$;

CREATE TRIGGER events_notify
  AFTER INSERT ON events
  FOR EACH STATEMENT EXECUTE FUNCTION events_notify();

-- The relay's checkpoint, one row per relay name: the last (transaction_id, position) it published.
CREATE TABLE outbox_relay_state (
  name                           text        PRIMARY KEY,
  last_published_position        bigint      NOT NULL DEFAULT 0,
  last_published_transaction_id  xid8        NOT NULL DEFAULT '0',
  updated_at                     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT outbox_relay_state_name_check CHECK (name <> ''),
  CONSTRAINT outbox_relay_state_position_check CHECK (last_published_position >= 0)
);
