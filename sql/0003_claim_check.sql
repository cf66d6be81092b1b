-- 0003: claim check for large command payloads.
--
-- A document's content (up to 2 MiB) does not ride on the command bus: NATS refuses messages over its
-- max_payload (1 MiB by default). The gateway stores the bytes here under the command id before it publishes
-- the command; the worker reads them in the command's transaction and deletes them once applied.
CREATE TABLE command_blobs (
  command_id  text        PRIMARY KEY,
  content     bytea       NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT command_blobs_command_id_check CHECK (char_length(command_id) BETWEEN 1 AND 256),
  CONSTRAINT command_blobs_content_check CHECK (octet_length(content) <= 2097152)
);

CREATE INDEX command_blobs_created_at_idx ON command_blobs (created_at);
