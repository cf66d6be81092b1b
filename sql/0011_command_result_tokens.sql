-- 0011: a stored command result keeps the point of its last event (or of its aggregate's last event) in
-- columns, written by the same statement that appends the events, so a command's writes take one round
-- trip; the consistency token is encoded from them when the result is read.
ALTER TABLE command_results
  ADD COLUMN token_transaction_id xid8 NULL,
  ADD COLUMN token_position bigint NULL,
  ADD CONSTRAINT command_results_token_check CHECK ((token_transaction_id IS NULL) = (token_position IS NULL));
