-- 0010: where the consistency coordinator resumes.
--
-- The coordinator reads the EVENTS stream in order and records, after each refresh, the stream sequence up
-- to which every event has been applied to every read view (and that event's point in publish order).
-- After a restart it reads on from the next sequence; refreshes recompute rows from the write model, so
-- applying an event twice is harmless. A stream that was recreated or expired past the checkpoint is caught
-- by comparing the sequence with the stream's bounds (the coordinator then does a full refresh).
CREATE TABLE consistency_checkpoint (
  name            text        PRIMARY KEY,
  stream_seq      bigint      NOT NULL DEFAULT 0,
  transaction_id  xid8        NOT NULL DEFAULT '0',
  position        bigint      NOT NULL DEFAULT 0,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT consistency_checkpoint_stream_seq_check CHECK (stream_seq >= 0)
);
