-- The enhanced order API's tables (agents/8000-order.md "Owns", second half): modifications, splits,
-- fulfilment plans, delivery attempts, cancellation requests, notes and tags. They hang off
-- orders.orders / order_items / partial_shipments (0008); `seq` columns give a stable order among
-- rows written in the same microsecond.

CREATE TABLE orders.order_modifications (
  modification_id   uuid PRIMARY KEY,
  order_id          uuid NOT NULL REFERENCES orders.orders (order_id) ON DELETE CASCADE,
  modification_type text NOT NULL
                    CHECK (modification_type IN ('status_change', 'item_added', 'item_removed',
                                                 'quantity_changed', 'address_change',
                                                 'delivery_date_change', 'priority_change',
                                                 'gift_options_change', 'notes_change')),
  field_name        text,
  old_value         jsonb,
  new_value         jsonb,
  reason            text,
  modified_by       text NOT NULL CHECK (modified_by <> ''),
  modified_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  metadata          jsonb,
  seq               bigserial
);
CREATE INDEX order_modifications_order ON orders.order_modifications (order_id, modified_at, seq);

CREATE TABLE orders.order_splits (
  split_id        uuid PRIMARY KEY,
  parent_order_id uuid NOT NULL REFERENCES orders.orders (order_id) ON DELETE CASCADE,
  child_order_id  uuid NOT NULL UNIQUE REFERENCES orders.orders (order_id) ON DELETE CASCADE,
  split_reason    text NOT NULL
                  CHECK (split_reason IN ('multi_warehouse', 'partial_availability', 'delivery_speed',
                                          'carrier_limitations', 'customer_request',
                                          'cost_optimization')),
  warehouse_id    text,
  split_date      timestamptz NOT NULL DEFAULT clock_timestamp(),
  split_by        text,
  metadata        jsonb,
  seq             bigserial,
  CHECK (parent_order_id <> child_order_id)
);
CREATE INDEX order_splits_parent ON orders.order_splits (parent_order_id, split_date, seq);

CREATE TABLE orders.fulfillment_plans (
  plan_id                 uuid PRIMARY KEY,
  order_id                uuid NOT NULL REFERENCES orders.orders (order_id) ON DELETE CASCADE,
  warehouse_id            text NOT NULL CHECK (warehouse_id <> ''),
  fulfillment_strategy    text NOT NULL
                          CHECK (fulfillment_strategy IN ('single_warehouse', 'split_shipment',
                                                          'dropship', 'store_pickup', 'hybrid')),
  estimated_ship_date     timestamptz,
  estimated_delivery_date timestamptz,
  priority                integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 10),
  status                  text NOT NULL DEFAULT 'planned'
                          CHECK (status IN ('planned', 'in_progress', 'completed', 'cancelled',
                                            'on_hold')),
  actual_processing_time  integer CHECK (actual_processing_time >= 0),  -- minutes
  created_at              timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at              timestamptz NOT NULL DEFAULT clock_timestamp(),
  seq                     bigserial
);
CREATE INDEX fulfillment_plans_order ON orders.fulfillment_plans (order_id, created_at, seq);

CREATE TABLE orders.fulfillment_plan_items (
  plan_id            uuid NOT NULL REFERENCES orders.fulfillment_plans (plan_id) ON DELETE CASCADE,
  item_id            uuid NOT NULL REFERENCES orders.order_items (item_id) ON DELETE CASCADE,
  quantity           integer NOT NULL CHECK (quantity > 0),
  allocated_quantity integer NOT NULL DEFAULT 0,
  picked_quantity    integer NOT NULL DEFAULT 0,
  packed_quantity    integer NOT NULL DEFAULT 0,
  PRIMARY KEY (plan_id, item_id),
  CHECK (allocated_quantity BETWEEN 0 AND quantity),
  CHECK (picked_quantity BETWEEN 0 AND quantity),
  CHECK (packed_quantity BETWEEN 0 AND quantity)
);
CREATE INDEX fulfillment_plan_items_item ON orders.fulfillment_plan_items (item_id);

CREATE TABLE orders.delivery_attempts (
  attempt_id        uuid PRIMARY KEY,
  order_id          uuid NOT NULL REFERENCES orders.orders (order_id) ON DELETE CASCADE,
  shipment_id       uuid NOT NULL REFERENCES orders.partial_shipments (shipment_id) ON DELETE CASCADE,
  attempt_number    integer NOT NULL CHECK (attempt_number BETWEEN 1 AND 3),
  attempted_at      timestamptz NOT NULL,
  status            text NOT NULL
                    CHECK (status IN ('successful', 'failed', 'customer_not_home', 'address_issue',
                                      'refused_by_customer', 'damaged_package', 'weather_delay',
                                      'rescheduled')),
  failure_reason    text,
  next_attempt_date timestamptz,
  notes             text,
  created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (shipment_id, attempt_number),
  CHECK (status = 'successful' OR coalesce(failure_reason, '') <> '')
);
CREATE INDEX delivery_attempts_order ON orders.delivery_attempts (order_id, attempted_at, attempt_id);

CREATE TABLE orders.cancellation_requests (
  request_id      uuid PRIMARY KEY,
  order_id        uuid NOT NULL REFERENCES orders.orders (order_id) ON DELETE CASCADE,
  requested_by    text NOT NULL CHECK (requested_by <> ''),
  reason          text NOT NULL
                  CHECK (reason IN ('customer_request', 'out_of_stock', 'payment_failed',
                                    'fraud_detected', 'duplicate_order', 'address_issue',
                                    'pricing_error', 'marketplace_cancelled', 'platform_cancelled',
                                    'other')),
  detailed_reason text,
  status          text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'approved', 'rejected', 'completed', 'failed')),
  reviewed_by     text,
  reviewed_at     timestamptz,
  review_notes    text,
  refund_amount   numeric(12,2) CHECK (refund_amount >= 0),
  refund_status   text CHECK (refund_status IN ('pending', 'processing', 'completed', 'failed',
                                                'partial')),
  failure_detail  text,
  requested_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  completed_at    timestamptz,
  seq             bigserial,
  CHECK ((status = 'pending') = (reviewed_at IS NULL))
);
CREATE UNIQUE INDEX cancellation_requests_one_pending ON orders.cancellation_requests (order_id)
  WHERE status = 'pending';
CREATE INDEX cancellation_requests_order ON orders.cancellation_requests (order_id, requested_at, seq);
CREATE INDEX cancellation_requests_pending ON orders.cancellation_requests (requested_at, seq)
  WHERE status = 'pending';

CREATE TABLE orders.order_notes (
  note_id                uuid PRIMARY KEY,
  order_id               uuid NOT NULL REFERENCES orders.orders (order_id) ON DELETE CASCADE,
  note_type              text NOT NULL CHECK (note_type IN ('internal', 'customer', 'system', 'agent')),
  note_text              text NOT NULL CHECK (char_length(note_text) BETWEEN 1 AND 5000),
  is_visible_to_customer boolean NOT NULL DEFAULT false,
  created_by             text NOT NULL CHECK (created_by <> ''),
  created_at             timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at             timestamptz NOT NULL DEFAULT clock_timestamp(),
  seq                    bigserial
);
CREATE INDEX order_notes_order ON orders.order_notes (order_id, created_at, seq);

CREATE TABLE orders.order_tags (
  order_id uuid NOT NULL REFERENCES orders.orders (order_id) ON DELETE CASCADE,
  tag      text NOT NULL CHECK (tag ~ '^[a-z0-9_:-]{1,50}$'),
  added_by text,
  added_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (order_id, tag)
);
CREATE INDEX order_tags_tag ON orders.order_tags (tag, added_at DESC, order_id);
-- GET /orders/tags/{tag}/orders and GET /orders?tag= look orders up by their tag set.
CREATE INDEX orders_tags ON orders.orders USING gin (tags);
