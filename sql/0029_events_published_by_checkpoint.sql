-- 0029: whether an event was published is said by the relay's checkpoint alone; events lose published_at.
--
-- The relay marked every event it published (UPDATE events SET published_at) in the statement that moves its
-- checkpoint. The checkpoint already said the same ("everything up to here", src/outbox/sql.ts), and the mark
-- was the costliest write of the command path after the command's own: each one a new version of the whole
-- row, which fillfactor 90 left room on the page for only now and then, so most marks were not heap-only and
-- wrote an entry in each of the table's four indexes (measured at concurrency 64 with pg_stat_statements: the
-- checkpoint statements wrote 41% as many WAL records as the command writes, ~4.6 per event), and left dead
-- rows for autovacuum. An event is published when (transaction_id, position) is at or below the `default`
-- relay's checkpoint: `event_published(transaction_id, position)` below says so.
--
-- Upgrade: a relay of an earlier version still running after this migration fails its checkpoint statement
-- (the column is gone), so its checkpoint stays where it was and it keeps publishing the same batch again
-- until it is stopped and a new relay takes over. Nothing is lost, and JetStream drops those copies as
-- duplicates within its two-minute window: replace the relays within two minutes of the migration (or stop
-- them before it), or the stream keeps a copy or two of that batch, which consumers take as a redelivery.
ALTER TABLE events DROP COLUMN published_at;
-- No update but an erasure's is left, so pages no longer keep room for new row versions.
ALTER TABLE events RESET (fillfactor);

-- Rounds the relay has made, counted in the statement that moves the checkpoint (read by the benchmarks).
ALTER TABLE outbox_relay_state ADD COLUMN rounds bigint NOT NULL DEFAULT 0;

-- Whether the `default` relay has published the event at (transaction_id, position).
CREATE FUNCTION event_published(p_transaction_id xid8, p_position bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce((SELECT (p_transaction_id, p_position) <= (s.last_published_transaction_id, s.last_published_position)
                     FROM outbox_relay_state s WHERE s.name = 'default'), false)
$$;

-- 0024's rule, with the message no longer naming published_at: events are immutable, except the payload of
-- an event of a deleted user replaced by its redaction.
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
  RAISE EXCEPTION 'events are immutable: only a deleted user''s payload may be erased (event %)', OLD.event_id
    USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
