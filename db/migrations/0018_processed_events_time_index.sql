-- The retention keeper (src/db/retention_keeper.cpp) deletes each schema's processed-event marks
-- older than a week, every 15 minutes. processed_events had no index on processed_at, so when
-- nothing was old its search read the whole table, per schema and per round: at three marks per
-- order, a week of a busy shop is tens of millions of rows.
--
-- A BRIN index fits this column: marks are appended in processed_at order, so each range of 128
-- heap pages holds a narrow slice of time, and the index is a few pages per gigabyte of table.
-- Unlike a B-tree it costs an insert almost nothing (a consumed event is on the order path): the
-- newest range stays unsummarized until it is full, and autosummarize has autovacuum summarize it
-- then. The keeper's search now visits only the ranges that can hold old marks (and the newest,
-- unsummarized ones).
DO $$
DECLARE
  s text;
BEGIN
  FOR s IN SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relname = 'processed_events' AND c.relkind = 'r' LOOP
    EXECUTE format('CREATE INDEX processed_events_time ON %I.processed_events USING brin (processed_at)'
                   ' WITH (autosummarize = on)', s);
  END LOOP;
END
$$;
