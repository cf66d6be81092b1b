-- 0021: durable cursors of in-process event subscriptions (embedded mode).
--
-- JetStream keeps a durable consumer's position on the server; the embedded mode's in-process event bus lives in
-- memory, so its durable subscriptions (the document processor) keep theirs here: the relay-order point up to
-- which every event was handled. After a crash, the events the relay had published after the lowest of them are
-- read again from the outbox (the events table) and handed to the subscriptions, which skip what they had done.
CREATE TABLE event_consumer_cursors (
  name           text        PRIMARY KEY,
  transaction_id xid8        NOT NULL,
  position       bigint      NOT NULL,
  updated_at     timestamptz NOT NULL DEFAULT now()
);
