-- One outbox row per writing statement, not per event.
--
-- Until now every event was a row of <schema>.outbox: an insert with three index entries (primary
-- key, event_id, pending), then a delete once the relay had published it and no consumer held it.
-- An order wrote about 6.4 such rows, ~30 % of the row operations of the order path and ~20 % of
-- its WAL records (bench/README.md, "Session 18" and "Session 23"). The statements that write most
-- events serve 5-8 orders each (db::batch_queue), so a row per statement holds that many orders'
-- events for the cost of one.
--
-- A row's `events` is a JSON array of events, each an object with the text fields event_id,
-- aggregate_id, name, publisher, correlation_id, payload (the payload's JSON text) and occurred_at
-- (ISO 8601 UTC with milliseconds), in publication order. The relay publishes a row's events in
-- that order, and rows in id order, as before. The event_id unique index goes: event ids are
-- generated per write (v4 UUIDs), and consumers de-duplicate by them (processed_events) whatever
-- the outbox holds.
--
-- <schema>.outbox_events is the per-event reading of the table (tests, statistics, an operator).
-- Rows present at the upgrade are carried over, one event each, with their publication marks.
DO $$
DECLARE
  s text;
BEGIN
  FOR s IN SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relname = 'outbox' AND c.relkind = 'r' LOOP
    EXECUTE format($f$
      CREATE TABLE %1$I.outbox_batches (
        id           bigserial PRIMARY KEY,
        events       jsonb NOT NULL CHECK (jsonb_typeof(events) = 'array'),
        occurred_at  timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz,
        attempts     integer NOT NULL DEFAULT 0,
        last_error   text)$f$, s);
    EXECUTE format($f$
      INSERT INTO %1$I.outbox_batches (events, occurred_at, published_at, attempts, last_error)
      SELECT jsonb_build_array(jsonb_build_object(
               'event_id', event_id::text, 'aggregate_id', aggregate_id, 'name', name,
               'publisher', publisher, 'correlation_id', correlation_id, 'payload', payload::text,
               'occurred_at', to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))),
             occurred_at, published_at, attempts, last_error
      FROM %1$I.outbox ORDER BY id$f$, s);
    EXECUTE format('DROP TABLE %I.outbox', s);
    EXECUTE format('ALTER TABLE %I.outbox_batches RENAME TO outbox', s);
    EXECUTE format('ALTER INDEX %I.outbox_batches_pkey RENAME TO outbox_pkey', s);
    EXECUTE format('ALTER SEQUENCE %I.outbox_batches_id_seq RENAME TO outbox_id_seq', s);
    EXECUTE format('CREATE INDEX outbox_pending ON %I.outbox (id) WHERE published_at IS NULL', s);
    EXECUTE format($f$
      CREATE VIEW %1$I.outbox_events AS
      SELECT o.id AS outbox_id, r.k AS position, (r.e->>'event_id')::uuid AS event_id,
             r.e->>'aggregate_id' AS aggregate_id, r.e->>'name' AS name, r.e->>'publisher' AS publisher,
             coalesce(r.e->>'correlation_id', '') AS correlation_id, (r.e->>'payload')::jsonb AS payload,
             (r.e->>'occurred_at')::timestamptz AS occurred_at, o.published_at, o.attempts, o.last_error
      FROM %1$I.outbox o CROSS JOIN LATERAL jsonb_array_elements(o.events) WITH ORDINALITY AS r(e, k)$f$, s);
  END LOOP;
END
$$;
