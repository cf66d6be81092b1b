-- 0024: erasure of a deleted user's personal data.
--
-- DeleteUser marks the user deleted (the views drop the user's rows at once); the erasure consumer
-- (src/erasure) then calls `erase_user_data(user, batch)` until it returns 0. Each call is one short
-- transaction that erases at most `batch` rows of each kind:
--   * write model: email (-> '<id>@erased.invalid', so the row keeps its constraints), display name, model
--     names, document titles and content (-> empty, size 0), failure reasons, turn text (-> '[erased]');
--     document chunks are deleted;
--   * events of the user's aggregates: the personal fields of the payload (email, displayName, name, title,
--     text, failureReason) read '[redacted]' (type, version, ids, times, metadata stay);
--   * command_results of the user's aggregates: the message of a refusal (it may quote what was sent);
--   * command_blobs of the user's commands (upload content, processing chunks);
--   * dead_letters whose payload names the user or one of its aggregates (their work has nothing left to do),
--     except the consistency role's: those hold view keys only, and retrying one removes the user's view rows.
-- Rows already erased are skipped, so a call repeated after a crash or a redelivery does only what is left.
-- Version columns do not move: erasure is no domain event.

-- The payload of an event with its personal fields redacted (idempotent).
CREATE FUNCTION erased_event_payload(payload jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT COALESCE(
           jsonb_object_agg(
             e.key,
             CASE WHEN e.key IN ('email', 'displayName', 'name', 'title', 'text', 'failureReason')
                  THEN '"[redacted]"'::jsonb ELSE e.value END),
           '{}'::jsonb)
    FROM jsonb_each(payload) AS e
$$;

-- Events stay immutable (0014's trigger and WHEN list are unchanged) with one sanctioned mutation: the
-- payload of an event of a DELETED user replaced by its redaction, every other column as it was.
CREATE OR REPLACE FUNCTION events_forbid_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF (OLD.position, OLD.event_id, OLD.aggregate_type, OLD.aggregate_id, OLD.aggregate_version, OLD.type,
      OLD.metadata, OLD.committed_at, OLD.transaction_id)
     IS NOT DISTINCT FROM
     (NEW.position, NEW.event_id, NEW.aggregate_type, NEW.aggregate_id, NEW.aggregate_version, NEW.type,
      NEW.metadata, NEW.committed_at, NEW.transaction_id)
     AND NEW.payload = erased_event_payload(OLD.payload)
     AND EXISTS (SELECT 1 FROM users u
                  WHERE u.id = (OLD.payload ->> 'userId')::uuid AND u.deleted_at IS NOT NULL) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'events are immutable: only published_at may be updated, and a deleted user''s payload erased (event %)',
    OLD.event_id
    USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

-- One batch of a deleted user's erasure; returns the rows it changed (0: nothing left). Raises when the
-- user is not deleted. Everything that is not found by an index (the user's command ids in command_results,
-- the dead letters naming it) is read before the first write: the transaction has no xid yet, so a slow read
-- does not hold back the outbox relay (which waits for every transaction with an xid older than its events).
-- "Not yet erased" tests are plain comparisons, so a batch skips the rows erased before it cheaply.
CREATE FUNCTION erase_user_data(p_user uuid, p_batch integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  changed integer := 0;
  n integer;
  aggs uuid[];
  refusals text[];
  blobs text[];
  letters bigint[];
BEGIN
  IF NOT EXISTS (SELECT 1 FROM users WHERE id = p_user AND deleted_at IS NOT NULL) THEN
    RAISE EXCEPTION 'user % is not deleted: only a deleted user is erased', p_user
      USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  SELECT array_agg(id) INTO aggs FROM (
    SELECT p_user AS id
    UNION ALL SELECT id FROM voice_models WHERE user_id = p_user
    UNION ALL SELECT id FROM face_models WHERE user_id = p_user
    UNION ALL SELECT id FROM documents WHERE user_id = p_user
    UNION ALL SELECT id FROM conversations WHERE user_id = p_user
  ) a;
  -- Reads first (see above).
  SELECT array_agg(command_id) INTO refusals FROM (
    SELECT command_id FROM command_results
     WHERE aggregate_id = ANY (aggs) AND result -> 'ok' = 'false'::jsonb
       AND result #>> '{error,message}' IS DISTINCT FROM '[redacted]'
     LIMIT p_batch) r;
  SELECT array_agg(b.command_id) INTO blobs FROM (
    SELECT command_id FROM command_blobs
     WHERE command_id IN (SELECT r.command_id FROM command_results r WHERE r.aggregate_id = ANY (aggs))
        OR command_id IN (SELECT p || d::text FROM unnest(aggs) d,
                                 unnest(ARRAY['document-processing:', 'document-processing-failed:']) p)
     LIMIT p_batch) b;
  SELECT array_agg(id) INTO letters FROM (
    SELECT id FROM dead_letters
     WHERE source <> 'consistency'
       AND payload::text LIKE ANY (SELECT '%' || a::text || '%' FROM unnest(aggs) a)
     LIMIT p_batch) l;

  UPDATE users SET email = id::text || '@erased.invalid', display_name = '[erased]'
   WHERE id = p_user AND email <> id::text || '@erased.invalid';
  GET DIAGNOSTICS n = ROW_COUNT; changed := changed + n;

  UPDATE voice_models SET name = '[erased]', failure_reason = CASE WHEN failure_reason IS NULL THEN NULL ELSE '[erased]' END
   WHERE id IN (SELECT id FROM voice_models WHERE user_id = p_user
                  AND (name <> '[erased]' OR failure_reason <> '[erased]') LIMIT p_batch);
  GET DIAGNOSTICS n = ROW_COUNT; changed := changed + n;
  UPDATE face_models SET name = '[erased]', failure_reason = CASE WHEN failure_reason IS NULL THEN NULL ELSE '[erased]' END
   WHERE id IN (SELECT id FROM face_models WHERE user_id = p_user
                  AND (name <> '[erased]' OR failure_reason <> '[erased]') LIMIT p_batch);
  GET DIAGNOSTICS n = ROW_COUNT; changed := changed + n;

  UPDATE documents
     SET title = '[erased]', content = '\x'::bytea, size_bytes = 0,
         failure_reason = CASE WHEN failure_reason IS NULL THEN NULL ELSE '[erased]' END
   WHERE id IN (SELECT id FROM documents WHERE user_id = p_user
                  AND (title <> '[erased]' OR size_bytes <> 0 OR failure_reason <> '[erased]') LIMIT p_batch);
  GET DIAGNOSTICS n = ROW_COUNT; changed := changed + n;
  DELETE FROM document_chunks
   WHERE (document_id, chunk_index) IN (
     SELECT c.document_id, c.chunk_index FROM document_chunks c JOIN documents d ON d.id = c.document_id
      WHERE d.user_id = p_user LIMIT p_batch);
  GET DIAGNOSTICS n = ROW_COUNT; changed := changed + n;

  UPDATE turns SET text = '[erased]'
   WHERE (conversation_id, sequence) IN (
     SELECT t.conversation_id, t.sequence FROM turns t JOIN conversations c ON c.id = t.conversation_id
      WHERE c.user_id = p_user AND t.text <> '[erased]' LIMIT p_batch);
  GET DIAGNOSTICS n = ROW_COUNT; changed := changed + n;

  UPDATE events SET payload = erased_event_payload(payload)
   WHERE event_id IN (
     SELECT event_id FROM events
      WHERE aggregate_id = ANY (aggs)
        AND (payload ->> 'email' <> '[redacted]' OR payload ->> 'displayName' <> '[redacted]'
             OR payload ->> 'name' <> '[redacted]' OR payload ->> 'title' <> '[redacted]'
             OR payload ->> 'text' <> '[redacted]' OR payload ->> 'failureReason' <> '[redacted]')
      LIMIT p_batch);
  GET DIAGNOSTICS n = ROW_COUNT; changed := changed + n;

  UPDATE command_results SET result = jsonb_set(result, '{error,message}', '"[redacted]"')
   WHERE command_id = ANY (refusals);
  GET DIAGNOSTICS n = ROW_COUNT; changed := changed + n;
  DELETE FROM command_blobs WHERE command_id = ANY (blobs);
  GET DIAGNOSTICS n = ROW_COUNT; changed := changed + n;
  DELETE FROM dead_letters WHERE id = ANY (letters);
  GET DIAGNOSTICS n = ROW_COUNT; changed := changed + n;

  RETURN changed;
END;
$$;
