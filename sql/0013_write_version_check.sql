-- 0013: a command's write statement fails as a whole when its optimistic version check matched no row.
--
-- The worker writes a batch of commands in ONE statement of data-modifying CTEs, which commits by itself.
-- The UPDATE ... WHERE version = <read version> of a command whose aggregate changed since it was read returns
-- no row; the statement's final SELECT passes that count here, and the error (SQLSTATE 40001, retried by the
-- worker on fresh state) rolls back every write of the statement: state, child rows, events, stored results.
-- (The events' (aggregate_id, aggregate_version) key catches the same case; this does not rely on it.)
CREATE OR REPLACE FUNCTION write_expect_one(written bigint) RETURNS int
LANGUAGE plpgsql AS $$
BEGIN
  IF written <> 1 THEN
    RAISE EXCEPTION 'version conflict: % state rows written, 1 expected', written
      USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN 1;
END
$$;
