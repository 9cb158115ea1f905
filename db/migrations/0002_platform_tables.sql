-- Platform tables every agent schema gets (issue #3): the transactional outbox, the consumed-event
-- log used to de-duplicate at-least-once deliveries, and the idempotency store (Stripe semantics).
DO $$
DECLARE
  s text;
BEGIN
  FOREACH s IN ARRAY ARRAY['orders', 'catalog', 'inventory', 'marketplace', 'payments', 'pricing',
                           'carriers', 'customers', 'communication', 'returns', 'fraud',
                           'recommendation', 'promotions', 'risk', 'knowledge', 'transport',
                           'warehouse', 'documents', 'support', 'd2c', 'after_sales', 'backoffice',
                           'infrastructure', 'self_healing', 'monitoring', 'quality']
  LOOP
    EXECUTE format($f$
      CREATE TABLE %1$I.outbox (
        id             bigserial PRIMARY KEY,
        event_id       uuid NOT NULL UNIQUE,
        aggregate_id   text NOT NULL,
        name           text NOT NULL CHECK (name <> ''),
        publisher      text NOT NULL,
        correlation_id text NOT NULL DEFAULT '',
        payload        jsonb NOT NULL DEFAULT '{}'::jsonb,
        occurred_at    timestamptz NOT NULL DEFAULT now(),
        published_at   timestamptz,
        attempts       integer NOT NULL DEFAULT 0,
        last_error     text)$f$, s);
    EXECUTE format('CREATE INDEX outbox_pending ON %I.outbox (id) WHERE published_at IS NULL', s);
    EXECUTE format($f$
      CREATE TABLE %1$I.processed_events (
        event_id     uuid NOT NULL,
        consumer     text NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (event_id, consumer))$f$, s);
    EXECUTE format($f$
      CREATE TABLE %1$I.idempotency_keys (
        key           text PRIMARY KEY CHECK (char_length(key) BETWEEN 1 AND 255),
        endpoint      text NOT NULL,
        request_hash  text NOT NULL,
        status_code   integer NOT NULL,
        response_body text NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now())$f$, s);
    EXECUTE format('CREATE INDEX idempotency_keys_created ON %I.idempotency_keys (created_at)', s);
  END LOOP;
END
$$;
