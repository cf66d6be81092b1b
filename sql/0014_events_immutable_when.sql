-- 0014: the events immutability trigger fires only when a column other than published_at changes.
--
-- The relay marks every event published (an UPDATE of published_at). 0002's trigger ran PL/pgSQL and built
-- two jsonb documents of the whole row for each of those updates, about a tenth of the relay connection's
-- CPU. The same rule as a WHEN condition is a plain column comparison evaluated by the executor; the
-- function now only raises. (A column added to events later must be added to this list.)
DROP TRIGGER IF EXISTS events_forbid_update ON events;

CREATE OR REPLACE FUNCTION events_forbid_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events are immutable: only published_at may be updated (event %)', OLD.event_id
    USING ERRCODE = 'integrity_constraint_violation';
END;
$$;

CREATE TRIGGER events_forbid_update
  BEFORE UPDATE ON events
  FOR EACH ROW
  WHEN ((OLD.position, OLD.event_id, OLD.aggregate_type, OLD.aggregate_id, OLD.aggregate_version, OLD.type,
         OLD.payload, OLD.metadata, OLD.committed_at, OLD.transaction_id)
        IS DISTINCT FROM
        (NEW.position, NEW.event_id, NEW.aggregate_type, NEW.aggregate_id, NEW.aggregate_version, NEW.type,
         NEW.payload, NEW.metadata, NEW.committed_at, NEW.transaction_id))
  EXECUTE FUNCTION events_forbid_update();
