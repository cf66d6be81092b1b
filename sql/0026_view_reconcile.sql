-- 0026: comparing a read view with its source, for scheduled reconciliation (src/consistency/reconcile.ts).
--
-- The consistency leader walks each view in key order, a small batch of keys at a time, each batch its own
-- short statement (a long transaction would hold back the outbox relay, whose publish rule waits for every
-- running transaction):
--   * `read_view_next_keys(view, after, batch)`: the next `batch` keys after `after` that the view's table OR
--     its source holds (so a row missing from the table and a row the source no longer yields are both seen);
--   * `read_view_differences(view, keys)`: those of `keys` whose row in the table differs from the source's
--     (missing, extra, or any column different), with the row's user_id (from either side).
-- Neither writes or locks anything. A difference may be the usual lag (an event not applied yet); the
-- reconciler tells lag from drift under the view's refresh lock and repairs drift with the keyed refresh.

-- The column list of a view's table, in table order (what the source is compared on).
CREATE FUNCTION read_view_columns(view_name text)
RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum)
    FROM pg_attribute a
   WHERE a.attrelid = format('%I', view_name)::regclass AND a.attnum > 0 AND NOT a.attisdropped;
$$;

CREATE FUNCTION read_view_next_keys(view_name text, after_key uuid, batch integer)
RETURNS uuid[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v read_views%ROWTYPE;
  result uuid[];
BEGIN
  SELECT * INTO v FROM read_views r WHERE r.name = read_view_next_keys.view_name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown read view "%"', read_view_next_keys.view_name USING ERRCODE = 'invalid_parameter_value';
  END IF;
  EXECUTE format(
    'SELECT COALESCE(array_agg(k ORDER BY k), ''{}'') FROM ('
    || '(SELECT %1$I AS k FROM %2$I WHERE %1$I > $1 ORDER BY 1 LIMIT $2) UNION '
    || '(SELECT %1$I AS k FROM %3$I WHERE %1$I > $1 ORDER BY 1 LIMIT $2) ORDER BY 1 LIMIT $2) u',
    v.key_column, v.name, v.source)
    INTO result USING after_key, batch;
  RETURN result;
END;
$$;

CREATE FUNCTION read_view_differences(view_name text, keys uuid[])
RETURNS TABLE (key uuid, user_id uuid)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v read_views%ROWTYPE;
  cols text;
BEGIN
  SELECT * INTO v FROM read_views r WHERE r.name = read_view_differences.view_name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown read view "%"', read_view_differences.view_name USING ERRCODE = 'invalid_parameter_value';
  END IF;
  cols := read_view_columns(v.name);
  RETURN QUERY EXECUTE format(
    'SELECT COALESCE(t.%1$I, s.%1$I), COALESCE(t.user_id, s.user_id) '
    || 'FROM (SELECT %2$s FROM %3$I WHERE %1$I = ANY ($1)) t '
    || 'FULL JOIN (SELECT %2$s FROM %4$I WHERE %1$I = ANY ($1)) s ON s.%1$I = t.%1$I '
    || 'WHERE t.%1$I IS NULL OR s.%1$I IS NULL OR ROW(t.*) IS DISTINCT FROM ROW(s.*) ORDER BY 1',
    v.key_column, cols, v.name, v.source)
    USING keys;
END;
$$;
