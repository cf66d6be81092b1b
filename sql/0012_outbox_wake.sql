-- 0012: the relay is no longer woken by a NOTIFY trigger on every events INSERT.
--
-- pg_notify makes every committing transaction queue behind one cluster-wide lock at COMMIT; measured with
-- the command benchmark it cut the commit rate of concurrent writers by about 40%. The workers now wake the
-- relay over NATS after a batch that wrote events (core subject `<prefix>.outbox.wake`), the embedded mode
-- wakes it in-process, and the relay still LISTENs on clone_outbox (for anyone who NOTIFYs by hand) and polls.
DROP TRIGGER IF EXISTS events_notify ON events;
DROP FUNCTION IF EXISTS events_notify();
