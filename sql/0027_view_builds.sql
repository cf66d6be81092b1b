-- 0027: changing a read view without downtime: build the new version beside the old one, swap, drop the old.
--
-- A migration that changes a view (a new `<view>_source`, a new column) does not rebuild it in place; it creates
-- the new version beside the old one under the names `<view>__next_source` (the new definition) and
-- `<view>__next` (its table, with its indexes named `<view>__next_*`), and registers the build:
-- `SELECT read_view_begin_build('<view>');`. From then on (src/read-models/README.md, "Changing a view"):
--   * every keyed refresh of the view (and every full one) also applies to `<view>__next`, from the new source,
--     under the same lock: the new table follows the event stream while it is filled;
--   * `read_view_build_step(view, batch)` (the consistency leader, or `cli views build`) fills it in key order,
--     `batch` keys per call, each call its own short transaction under the view's refresh lock;
--   * once a step finds no key left, the build is complete; `read_view_swap(view)` then renames, in one short
--     transaction, the old table and source to `<view>__retired[_source]` and the new ones to the view's names
--     (indexes too). Reads go to the old table until that commit and to the new one after it;
--   * `read_view_drop_retired(view)` drops the old version.

CREATE TABLE read_view_builds (
  view_name    text        PRIMARY KEY REFERENCES read_views (name),
  -- The last key filled (NULL: none yet).
  built_through uuid       NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  -- When a step found no key left: the new table holds every row and follows the events.
  completed_at timestamptz NULL
);

-- The diff statement of `target` against `source` (the body of read_view_refresh_statement, for any pair).
CREATE FUNCTION read_view_diff_statement(target text, source text, pk text, key_column text)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
  cols text;
  sets text;
  old_row text;
  new_row text;
  src_filter text := '';
  del_filter text := '';
BEGIN
  SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum),
         string_agg(format('%I = EXCLUDED.%I', a.attname, a.attname), ', ' ORDER BY a.attnum)
           FILTER (WHERE a.attname <> pk),
         string_agg(format('t.%I', a.attname), ', ' ORDER BY a.attnum),
         string_agg(format('EXCLUDED.%I', a.attname), ', ' ORDER BY a.attnum)
    INTO cols, sets, old_row, new_row
    FROM pg_attribute a
   WHERE a.attrelid = format('%I', target)::regclass AND a.attnum > 0 AND NOT a.attisdropped;
  IF key_column IS NOT NULL THEN
    src_filter := format(' WHERE %I = ANY ($1::uuid[])', key_column);
    del_filter := format('t.%I = ANY ($1::uuid[]) AND ', key_column);
  END IF;
  RETURN format(
    'WITH src AS MATERIALIZED (SELECT %1$s FROM %2$I%3$s), '
    || 'upserted AS (INSERT INTO %4$I AS t (%1$s) SELECT %1$s FROM src ORDER BY %5$I '
    || 'ON CONFLICT (%5$I) DO UPDATE SET %6$s WHERE ROW(%7$s) IS DISTINCT FROM ROW(%8$s) RETURNING 1), '
    || 'deleted AS (DELETE FROM %4$I AS t WHERE %9$s'
    || 'NOT EXISTS (SELECT 1 FROM src WHERE src.%5$I = t.%5$I) RETURNING 1) '
    || 'SELECT (SELECT count(*) FROM upserted)::integer AS upserted, '
    || '(SELECT count(*) FROM deleted)::integer AS deleted',
    cols, source, src_filter, target, pk, sets, old_row, new_row, del_filter
  );
END;
$$;

-- Registers the build of `<view>__next` from `<view>__next_source` (both created by the calling migration).
CREATE FUNCTION read_view_begin_build(view_name text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v read_views%ROWTYPE;
  missing text;
BEGIN
  SELECT * INTO v FROM read_views r WHERE r.name = read_view_begin_build.view_name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown read view "%"', view_name USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- Every column of the new table must come from the new source (the refresh selects them by name).
  SELECT string_agg(a.attname, ', ') INTO missing
    FROM pg_attribute a
   WHERE a.attrelid = format('%I', v.name || '__next')::regclass AND a.attnum > 0 AND NOT a.attisdropped
     AND NOT EXISTS (SELECT 1 FROM pg_attribute s
                      WHERE s.attrelid = format('%I', v.name || '__next_source')::regclass
                        AND s.attname = a.attname AND s.attnum > 0);
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'columns of %__next that %__next_source does not yield: %', v.name, v.name, missing
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO read_view_builds (view_name) VALUES (v.name);
END;
$$;

-- Keyed refresh (0004), now also of the view's new version while one is built. The statement is made after
-- the view's lock is taken (0004 made it before): a swap that commits while the refresh waits for the lock
-- changes the table's columns.
CREATE OR REPLACE FUNCTION refresh_read_view_keys(view_name text, key_column text, keys uuid[],
                                                  OUT upserted integer, OUT deleted integer)
LANGUAGE plpgsql AS $$
BEGIN
  IF key_column IS NULL THEN
    RAISE EXCEPTION 'key_column is required' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  upserted := 0;
  deleted := 0;
  IF keys IS NULL OR cardinality(keys) = 0 THEN
    -- Still checks the view and the column.
    PERFORM read_view_refresh_statement(view_name, key_column);
    RETURN;
  END IF;
  PERFORM read_view_lock(view_name, false);
  -- Locking the table by name makes this backend take in a swap committed meanwhile (its catalog cache would
  -- otherwise still give the old table's columns); the refresh's INSERT takes this lock anyway.
  EXECUTE format('LOCK TABLE %I IN ROW EXCLUSIVE MODE', view_name);
  EXECUTE read_view_refresh_statement(view_name, key_column) INTO upserted, deleted USING keys;
  IF EXISTS (SELECT 1 FROM read_view_builds b WHERE b.view_name = refresh_read_view_keys.view_name) THEN
    EXECUTE read_view_diff_statement(view_name || '__next', view_name || '__next_source',
                                     (SELECT r.key_column FROM read_views r WHERE r.name = refresh_read_view_keys.view_name),
                                     key_column)
      USING keys;
  END IF;
END;
$$;

-- Full refresh (0004), now also of the view's new version while one is built.
CREATE OR REPLACE FUNCTION refresh_read_view_full(view_name text, OUT upserted integer, OUT deleted integer)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM read_view_lock(view_name, true);
  EXECUTE format('LOCK TABLE %I IN ROW EXCLUSIVE MODE', view_name);
  EXECUTE read_view_refresh_statement(view_name, NULL) INTO upserted, deleted;
  IF EXISTS (SELECT 1 FROM read_view_builds b WHERE b.view_name = refresh_read_view_full.view_name) THEN
    EXECUTE read_view_diff_statement(view_name || '__next', view_name || '__next_source',
                                     (SELECT r.key_column FROM read_views r WHERE r.name = refresh_read_view_full.view_name),
                                     NULL);
  END IF;
END;
$$;

-- Fills the next `batch` keys of the view's new version (under the view's refresh lock, so a keyed refresh of
-- the same keys is never overwritten with older rows); returns how many keys it filled (0: complete).
CREATE FUNCTION read_view_build_step(view_name text, batch integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v read_views%ROWTYPE;
  b read_view_builds%ROWTYPE;
  target text := view_name || '__next';
  source text := view_name || '__next_source';
  keys uuid[];
BEGIN
  SELECT * INTO v FROM read_views r WHERE r.name = read_view_build_step.view_name;
  SELECT * INTO b FROM read_view_builds r WHERE r.view_name = read_view_build_step.view_name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no build of read view "%"', view_name USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF b.completed_at IS NOT NULL THEN
    RETURN 0;
  END IF;
  PERFORM read_view_lock(view_name, false);
  EXECUTE format(
    'SELECT COALESCE(array_agg(k ORDER BY k), ''{}'') FROM ('
    || '(SELECT %1$I AS k FROM %2$I WHERE %1$I > $1 ORDER BY 1 LIMIT $2) UNION '
    || '(SELECT %1$I AS k FROM %3$I WHERE %1$I > $1 ORDER BY 1 LIMIT $2) ORDER BY 1 LIMIT $2) u',
    v.key_column, target, source)
    INTO keys USING COALESCE(b.built_through, '00000000-0000-0000-0000-000000000000'::uuid), batch;
  IF cardinality(keys) = 0 THEN
    UPDATE read_view_builds r SET completed_at = now() WHERE r.view_name = v.name;
    RETURN 0;
  END IF;
  EXECUTE read_view_diff_statement(target, source, v.key_column, v.key_column) USING keys;
  UPDATE read_view_builds r SET built_through = keys[cardinality(keys)] WHERE r.view_name = v.name;
  RETURN cardinality(keys);
END;
$$;

-- Swaps a completed build in: one short transaction of renames (the caller sets a lock_timeout and retries).
CREATE FUNCTION read_view_swap(view_name text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  b read_view_builds%ROWTYPE;
  i record;
BEGIN
  SELECT * INTO b FROM read_view_builds r WHERE r.view_name = read_view_swap.view_name FOR UPDATE;
  IF NOT FOUND OR b.completed_at IS NULL THEN
    RAISE EXCEPTION 'read view "%" has no completed build', view_name USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  PERFORM read_view_lock(view_name, false);
  EXECUTE format('LOCK TABLE %I, %I IN ACCESS EXCLUSIVE MODE', view_name, view_name || '__next');
  FOR i IN SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
            WHERE x.indrelid = format('%I', view_name)::regclass LOOP
    EXECUTE format('ALTER INDEX %I RENAME TO %I', i.relname,
                   left(replace(i.relname, view_name, view_name || '__retired'), 63));
  END LOOP;
  EXECUTE format('ALTER TABLE %I RENAME TO %I', view_name, view_name || '__retired');
  EXECUTE format('ALTER VIEW %I RENAME TO %I', view_name || '_source', view_name || '__retired_source');
  FOR i IN SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
            WHERE x.indrelid = format('%I', view_name || '__next')::regclass LOOP
    EXECUTE format('ALTER INDEX %I RENAME TO %I', i.relname, replace(i.relname, view_name || '__next', view_name));
  END LOOP;
  EXECUTE format('ALTER TABLE %I RENAME TO %I', view_name || '__next', view_name);
  EXECUTE format('ALTER VIEW %I RENAME TO %I', view_name || '__next_source', view_name || '_source');
  DELETE FROM read_view_builds r WHERE r.view_name = read_view_swap.view_name;
END;
$$;

-- The rows of the swapped-in version that differ from the retired one's on the columns both have (the cached
-- answers they fed are stale), with their users.
CREATE FUNCTION read_view_changed_by_swap(view_name text)
RETURNS TABLE (key uuid, user_id uuid)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v read_views%ROWTYPE;
  cols text;
BEGIN
  SELECT * INTO v FROM read_views r WHERE r.name = read_view_changed_by_swap.view_name;
  SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum) INTO cols
    FROM pg_attribute a
   WHERE a.attrelid = format('%I', v.name || '__retired')::regclass AND a.attnum > 0 AND NOT a.attisdropped
     AND EXISTS (SELECT 1 FROM pg_attribute n WHERE n.attrelid = format('%I', v.name)::regclass
                    AND n.attname = a.attname AND NOT n.attisdropped);
  RETURN QUERY EXECUTE format(
    'SELECT COALESCE(t.%1$I, o.%1$I), COALESCE(t.user_id, o.user_id) '
    || 'FROM (SELECT %2$s FROM %3$I) t FULL JOIN (SELECT %2$s FROM %4$I) o ON o.%1$I = t.%1$I '
    || 'WHERE t.%1$I IS NULL OR o.%1$I IS NULL OR ROW(t.*) IS DISTINCT FROM ROW(o.*)',
    v.key_column, cols, v.name, v.name || '__retired');
END;
$$;

-- Drops the version a swap retired (nothing reads it any more).
CREATE FUNCTION read_view_drop_retired(view_name text)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('DROP TABLE IF EXISTS %I', view_name || '__retired');
  EXECUTE format('DROP VIEW IF EXISTS %I', view_name || '__retired_source');
END;
$$;
