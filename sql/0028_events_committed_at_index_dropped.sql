-- 0028: the events table loses its index on committed_at.
--
-- 0002 created it for reads by time that never came: no query filters or orders events by committed_at (the
-- relay walks events_relay_order_idx, a history reads one aggregate by version, `cli lag` takes the oldest
-- committed_at of the few rows above the relay's checkpoint). Every appended event paid for it all the same:
-- one more index entry and WAL record per event on the command path.
DROP INDEX IF EXISTS events_committed_at_idx;
