-- 0015: the relay's order index covers every event, so marking an event published is a HOT update.
--
-- 0002 indexed only the unpublished rows (WHERE published_at IS NULL). Because published_at was in that index's
-- predicate, every mark (UPDATE events SET published_at) had to write a new row version with a new entry in
-- each of the table's indexes: about as much work as the insert itself. With the predicate gone no indexed
-- column changes, and with room left on each page (fillfactor) the mark is a heap-only update. The relay's
-- scan is unchanged in cost: it starts at its checkpoint in (transaction_id, position) order and reads the
-- batch; queries that counted "unpublished" rows now count the rows above the checkpoint (the same rows).
-- (The index is built inside the migration transaction, so writes to events wait while it builds: on a large
-- table, run this migration in a quiet moment.)
CREATE INDEX events_relay_order_idx ON events (transaction_id, position);
DROP INDEX events_unpublished_idx;
ALTER TABLE events SET (fillfactor = 90);
