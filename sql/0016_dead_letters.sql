-- 0016: dead letters, and room for processing results in the claim check.
--
-- Work that failed deterministically (a decoding, constraint or validation failure, or the same error
-- DEAD_LETTER_MAX_ATTEMPTS times) is recorded here and its consumer moves on; `bun run cli dead-letters`
-- lists, shows, retries and discards them. One row per failing item (source + item_key): a later failure of
-- the same item counts another attempt. A retry sets retry_requested_at; the consumer that owns the source
-- runs the item again and deletes the row when it succeeds.
CREATE TABLE dead_letters (
  id                 bigserial   PRIMARY KEY,
  source             text        NOT NULL,
  consumer           text        NOT NULL,
  item_key           text        NOT NULL,
  error              text        NOT NULL,
  attempts           integer     NOT NULL DEFAULT 1,
  first_failed_at    timestamptz NOT NULL DEFAULT now(),
  last_failed_at     timestamptz NOT NULL DEFAULT now(),
  -- The failed item as JSON (json, not jsonb: text that contained U+0000 stays storable as an escape).
  payload            json        NOT NULL,
  retry_requested_at timestamptz NULL,
  CONSTRAINT dead_letters_item_key UNIQUE (source, item_key),
  CONSTRAINT dead_letters_attempts_check CHECK (attempts >= 1)
);

CREATE INDEX dead_letters_retry_idx ON dead_letters (source) WHERE retry_requested_at IS NOT NULL;

-- A document's processing result (its chunks) goes by claim check too, and chunks overlap: room for more than
-- the 2 MiB of an upload.
ALTER TABLE command_blobs DROP CONSTRAINT command_blobs_content_check;
ALTER TABLE command_blobs ADD CONSTRAINT command_blobs_content_check CHECK (octet_length(content) <= 33554432);
