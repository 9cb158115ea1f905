-- The order agent's schema (agents/8000-order.md "Owns"): orders, their lines, tax rates, partial
-- shipments, the timeline every mutation appends to, and the durable saga log. The enhanced API's
-- own tables (plans, splits, modifications, attempts, requests, notes, tags) are in 0009.
-- Tax rates carry five decimals (NY 8.875 %), one more than the contract's NUMERIC(6,4).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE SEQUENCE orders.order_number_seq START 1;

CREATE TABLE orders.orders (
  order_id                uuid PRIMARY KEY,
  order_number            text NOT NULL UNIQUE,
  customer_id             text NOT NULL,
  customer_name           text NOT NULL DEFAULT '',
  customer_email          text NOT NULL DEFAULT '',
  channel                 text NOT NULL DEFAULT 'direct'
                          CHECK (channel IN ('direct', 'd2c', 'marketplace', 'replacement', 'pos')),
  channel_name            text NOT NULL DEFAULT '',
  channel_order_id        text,
  status                  text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'confirmed', 'processing', 'shipped', 'delivered',
                                            'cancelled', 'returned', 'refunded')),
  payment_status          text NOT NULL DEFAULT 'pending'
                          CHECK (payment_status IN ('pending', 'failed', 'authorized', 'partially_captured',
                                                    'captured', 'partially_refunded', 'refunded', 'voided',
                                                    'not_required')),
  fulfillment_status      text NOT NULL DEFAULT 'unfulfilled'
                          CHECK (fulfillment_status IN ('unfulfilled', 'partially_shipped', 'shipped',
                                                        'partially_delivered', 'delivered')),
  return_status           text NOT NULL DEFAULT 'none'
                          CHECK (return_status IN ('none', 'requested', 'partially_returned', 'returned')),
  fraud_decision          text,
  fraud_score             integer,
  fraud_check_id          text,
  currency                char(3) NOT NULL DEFAULT 'USD',
  subtotal                numeric(12,2) NOT NULL DEFAULT 0 CHECK (subtotal >= 0),
  discount_amount         numeric(12,2) NOT NULL DEFAULT 0 CHECK (discount_amount >= 0),
  shipping_cost           numeric(12,2) NOT NULL DEFAULT 0 CHECK (shipping_cost >= 0),
  tax_amount              numeric(12,2) NOT NULL DEFAULT 0 CHECK (tax_amount >= 0),
  total_amount            numeric(12,2) NOT NULL DEFAULT 0 CHECK (total_amount >= 0),
  amount_authorized       numeric(12,2) NOT NULL DEFAULT 0 CHECK (amount_authorized >= 0),
  amount_captured         numeric(12,2) NOT NULL DEFAULT 0 CHECK (amount_captured >= 0),
  amount_refunded         numeric(12,2) NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0),
  promotion_codes         text[] NOT NULL DEFAULT '{}',
  points_redeemed         bigint NOT NULL DEFAULT 0 CHECK (points_redeemed >= 0),
  store_credit_used       numeric(12,2) NOT NULL DEFAULT 0 CHECK (store_credit_used >= 0),
  shipping_service_level  text NOT NULL DEFAULT 'standard',
  carrier_code            text,
  shipping_address        jsonb,
  billing_address         jsonb,
  notes                   text,
  is_gift                 boolean NOT NULL DEFAULT false,
  gift_message            text,
  gift_wrap_type          text,
  hide_prices             boolean NOT NULL DEFAULT false,
  gift_receipt            boolean NOT NULL DEFAULT false,
  scheduled_delivery_date date,
  delivery_instructions   text,
  priority_level          text NOT NULL DEFAULT 'normal'
                          CHECK (priority_level IN ('low', 'normal', 'high', 'urgent')),
  is_split_order          boolean NOT NULL DEFAULT false,
  parent_order_id         uuid REFERENCES orders.orders (order_id),
  split_reason            text,
  replacement_of          uuid REFERENCES orders.orders (order_id),
  replacement_reference   text UNIQUE,
  payment_due_at          timestamptz,
  review_due_at           timestamptz,
  cancellation_reason     text,
  cancelled_at            timestamptz,
  cancelled_by            text,
  confirmed_at            timestamptz,
  shipped_at              timestamptz,
  delivered_at            timestamptz,
  tags                    text[] NOT NULL DEFAULT '{}',
  metadata                jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  version                 integer NOT NULL DEFAULT 1,
  CHECK (total_amount = subtotal - discount_amount + shipping_cost + tax_amount),
  CHECK (amount_captured <= amount_authorized),
  CHECK (amount_refunded <= amount_captured),
  CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);
CREATE UNIQUE INDEX orders_channel_order ON orders.orders (channel, channel_name, channel_order_id)
  WHERE channel_order_id IS NOT NULL;
CREATE INDEX orders_customer_created ON orders.orders (customer_id, created_at DESC);
CREATE INDEX orders_status_created ON orders.orders (status, created_at DESC);
CREATE INDEX orders_created ON orders.orders (created_at DESC, order_id);
CREATE INDEX orders_number_trgm ON orders.orders USING gin (order_number gin_trgm_ops);
CREATE INDEX orders_email_trgm ON orders.orders USING gin (customer_email gin_trgm_ops);
CREATE INDEX orders_name_trgm ON orders.orders USING gin (customer_name gin_trgm_ops);

CREATE TABLE orders.order_items (
  item_id            uuid PRIMARY KEY,
  order_id           uuid NOT NULL REFERENCES orders.orders (order_id) ON DELETE CASCADE,
  line_number        integer NOT NULL CHECK (line_number >= 1),
  product_id         text NOT NULL,
  variant_id         text,
  bundle_components  jsonb,
  sku                text NOT NULL DEFAULT '',
  product_name       text NOT NULL DEFAULT '',
  category           text NOT NULL DEFAULT '',
  quantity           integer NOT NULL CHECK (quantity > 0),
  unit_price         numeric(12,2) NOT NULL CHECK (unit_price >= 0),
  discount_amount    numeric(12,2) NOT NULL DEFAULT 0 CHECK (discount_amount >= 0),
  tax_amount         numeric(12,2) NOT NULL DEFAULT 0 CHECK (tax_amount >= 0),
  total_price        numeric(12,2) NOT NULL CHECK (total_price >= 0),
  quantity_shipped   integer NOT NULL DEFAULT 0,
  quantity_delivered integer NOT NULL DEFAULT 0,
  quantity_returned  integer NOT NULL DEFAULT 0,
  UNIQUE (order_id, line_number),
  CHECK (total_price = unit_price * quantity),
  CHECK (0 <= quantity_returned AND quantity_returned <= quantity_delivered
         AND quantity_delivered <= quantity_shipped AND quantity_shipped <= quantity)
);

CREATE TABLE orders.tax_rates (
  tax_rate_id    uuid PRIMARY KEY,
  country        char(2) NOT NULL,
  region         text,
  rate           numeric(7,5) NOT NULL CHECK (rate >= 0 AND rate < 1),
  name           text NOT NULL DEFAULT '',
  effective_from timestamptz NOT NULL DEFAULT '2000-01-01T00:00:00Z',
  effective_to   timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  CHECK (effective_to IS NULL OR effective_to > effective_from),
  EXCLUDE USING gist (country WITH =, (coalesce(region, '')) WITH =,
                      tstzrange(effective_from, effective_to) WITH &&)
);

CREATE TABLE orders.partial_shipments (
  shipment_id             uuid PRIMARY KEY,
  order_id                uuid NOT NULL REFERENCES orders.orders (order_id) ON DELETE CASCADE,
  shipment_number         integer NOT NULL CHECK (shipment_number >= 1),
  warehouse_id            text,
  status                  text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'processing', 'shipped', 'in_transit',
                                            'out_for_delivery', 'delivered', 'failed', 'returned')),
  carrier                 text,
  tracking_number         text,
  transport_shipment_id   text,
  shipped_at              timestamptz,
  estimated_delivery      timestamptz,
  actual_delivery         timestamptz,
  capture_transaction_id  text,
  captured_amount         numeric(12,2) NOT NULL DEFAULT 0 CHECK (captured_amount >= 0),
  on_hold                 boolean NOT NULL DEFAULT false,
  metadata                jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  UNIQUE (order_id, shipment_number)
);
CREATE INDEX partial_shipments_order ON orders.partial_shipments (order_id, shipment_number);

CREATE TABLE orders.partial_shipment_items (
  shipment_id uuid NOT NULL REFERENCES orders.partial_shipments (shipment_id) ON DELETE CASCADE,
  item_id     uuid NOT NULL REFERENCES orders.order_items (item_id) ON DELETE CASCADE,
  quantity    integer NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (shipment_id, item_id)
);

CREATE TABLE orders.order_timeline (
  event_id          uuid PRIMARY KEY,
  order_id          uuid NOT NULL REFERENCES orders.orders (order_id) ON DELETE CASCADE,
  event_type        text NOT NULL CHECK (event_type ~ '^[a-z_]{1,100}$'),
  event_description text NOT NULL DEFAULT '',
  event_data        jsonb NOT NULL DEFAULT '{}'::jsonb,
  triggered_by      text NOT NULL DEFAULT 'system',
  occurred_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  seq               bigserial
);
CREATE INDEX order_timeline_order ON orders.order_timeline (order_id, occurred_at, event_id);

CREATE TABLE orders.sagas (
  saga_id         uuid PRIMARY KEY,
  order_id        uuid NOT NULL REFERENCES orders.orders (order_id) ON DELETE CASCADE,
  saga_type       text NOT NULL CHECK (saga_type IN ('place_order', 'cancel_order', 'fulfil_order')),
  state           text NOT NULL DEFAULT 'running'
                  CHECK (state IN ('running', 'waiting_review', 'waiting_payment', 'compensating',
                                   'completed', 'compensated', 'failed')),
  current_step    text NOT NULL DEFAULT '',
  step_attempts   integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  deadline_at     timestamptz,
  lease_owner     text,
  lease_until     timestamptz,
  context         jsonb NOT NULL DEFAULT '{}'::jsonb,
  last_error      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX sagas_live_per_order ON orders.sagas (order_id, saga_type)
  WHERE state NOT IN ('completed', 'compensated', 'failed');
CREATE INDEX sagas_due ON orders.sagas (next_attempt_at)
  WHERE state IN ('running', 'compensating', 'waiting_review', 'waiting_payment');
CREATE INDEX sagas_state_created ON orders.sagas (state, created_at DESC);

CREATE TABLE orders.saga_steps (
  saga_id         uuid NOT NULL REFERENCES orders.sagas (saga_id) ON DELETE CASCADE,
  seq             integer NOT NULL,
  step            text NOT NULL,
  direction       text NOT NULL DEFAULT 'do' CHECK (direction IN ('do', 'undo')),
  attempt         integer NOT NULL DEFAULT 1,
  status          text NOT NULL CHECK (status IN ('started', 'succeeded', 'failed')),
  idempotency_key text NOT NULL DEFAULT '',
  request         jsonb,
  result          jsonb,
  error           text,
  started_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz,
  PRIMARY KEY (saga_id, seq)
);
