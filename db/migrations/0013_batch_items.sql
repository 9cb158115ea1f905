-- The rows of a shared statement's batch (db::batch_queue: placements, confirmations, fraud
-- scorings, consumed events, sales), numbered from 1: what `jsonb_array_elements($1) WITH
-- ORDINALITY` gives, with a row estimate the planner can use.
--
-- Why not jsonb_array_elements itself: the planner assumes it returns 100 rows. A batch holds 1 to
-- 32 items and about 4 under load, so with 100 the plans of the shared statements hash-joined a
-- scan of the target table (orders through orders_status_created, all pending orders per
-- confirmation) instead of probing its key once per item, and the cost grew with the table, not
-- with the batch. ROWS 4 is the size measured under load (bench/commerce_bench.sh,
-- /health shared_statements); nested-loop key probes stay the cheaper plan for any size up to 32.
--
-- plpgsql, not SQL: a SQL set-returning function is inlined into the caller, which drops the ROWS
-- estimate; plpgsql keeps its own plan for the body, cached per session (≈ 13 µs per call,
-- measured with pgbench against ≈ 33 µs for a non-inlined SQL function).
CREATE SCHEMA IF NOT EXISTS mercato;

CREATE FUNCTION mercato.batch_items(batch jsonb)
  RETURNS TABLE (j jsonb, n bigint)
  LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE ROWS 4
AS $$
BEGIN
  RETURN QUERY SELECT x.j, x.n FROM jsonb_array_elements(batch) WITH ORDINALITY AS x(j, n);
END
$$;

COMMENT ON FUNCTION mercato.batch_items(jsonb) IS
  'Items of a shared statement''s batch with their 1-based position; ROWS 4 keeps key probes in the plan.';
