-- inventory (agents/8002-inventory.md): stock per item per warehouse, reservations with expiry,
-- the append-only movement ledger and low-stock alerts. Invariants live here too (CHECKs, partial
-- UNIQUEs); the agent also locks stock_levels rows FOR UPDATE in (product_id, warehouse_id) order.

-- Mirrors the warehouse agent's register (agents/8016-warehouse.md). Until that agent exists,
-- inventory keeps its own copy; once it does, this table is refreshed from `list_warehouses`.
CREATE TABLE inventory.warehouses (
  warehouse_id uuid PRIMARY KEY,
  code         text NOT NULL UNIQUE CHECK (code <> ''),
  name         text NOT NULL,
  is_active    boolean NOT NULL DEFAULT true,
  country      text NOT NULL DEFAULT '',
  region       text NOT NULL DEFAULT '',
  city         text NOT NULL DEFAULT '',
  priority     integer NOT NULL DEFAULT 100,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE inventory.stock_levels (
  inventory_id       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  product_id         text NOT NULL CHECK (product_id <> '' AND char_length(product_id) <= 100),
  warehouse_id       uuid NOT NULL REFERENCES inventory.warehouses (warehouse_id),
  quantity           integer NOT NULL DEFAULT 0,
  reserved_quantity  integer NOT NULL DEFAULT 0,
  available_quantity integer GENERATED ALWAYS AS (quantity - reserved_quantity) STORED,
  reorder_point      integer NOT NULL DEFAULT 10,
  max_stock          integer NOT NULL DEFAULT 1000,
  location           text,
  -- The open alert's level ('none' when there is none): lets every write detect a low-stock
  -- transition from the locked row alone, without reading stock_alerts.
  alert_state        text NOT NULL DEFAULT 'none' CHECK (alert_state IN ('none', 'warning', 'critical')),
  hidden             boolean NOT NULL DEFAULT false,  -- product deleted: out of lists, kept for the ledger
  last_updated       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (product_id, warehouse_id),
  CHECK (quantity >= 0),
  CHECK (reserved_quantity >= 0),
  CHECK (reserved_quantity <= quantity),
  CHECK (reorder_point >= 0),
  CHECK (max_stock >= 0)
);
CREATE INDEX stock_levels_warehouse ON inventory.stock_levels (warehouse_id);
CREATE INDEX stock_levels_available ON inventory.stock_levels (available_quantity);

CREATE TABLE inventory.reservations (
  reservation_id uuid PRIMARY KEY,
  order_id       text NOT NULL CHECK (order_id <> '' AND char_length(order_id) <= 100),
  product_id     text NOT NULL,
  warehouse_id   uuid NOT NULL REFERENCES inventory.warehouses (warehouse_id),
  quantity       integer NOT NULL CHECK (quantity > 0),
  status         text NOT NULL CHECK (status IN ('active', 'confirmed', 'released', 'expired', 'fulfilled')),
  expires_at     timestamptz,
  reason         text,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  closed_at      timestamptz,
  CHECK (status <> 'active' OR expires_at IS NOT NULL)
);
CREATE UNIQUE INDEX reservations_live ON inventory.reservations (order_id, product_id, warehouse_id)
  WHERE status IN ('active', 'confirmed');
CREATE INDEX reservations_sweep ON inventory.reservations (status, expires_at);
CREATE INDEX reservations_order ON inventory.reservations (order_id);

CREATE TABLE inventory.stock_movements (
  movement_id     uuid PRIMARY KEY,
  product_id      text NOT NULL,
  warehouse_id    uuid NOT NULL,
  movement_type   text NOT NULL CHECK (movement_type IN ('inbound', 'outbound', 'transfer_out',
                    'transfer_in', 'adjustment', 'return', 'reservation', 'release', 'fulfillment')),
  quantity_change integer NOT NULL,  -- signed on-hand delta (0 for reservation / release rows)
  reserved_change integer NOT NULL DEFAULT 0,
  quantity_after  integer NOT NULL CHECK (quantity_after >= 0),
  reserved_after  integer NOT NULL CHECK (reserved_after >= 0),
  reference_id    text,
  notes           text,
  created_by      text NOT NULL DEFAULT 'inventory',
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX stock_movements_reference
  ON inventory.stock_movements (reference_id, product_id, warehouse_id, movement_type)
  WHERE reference_id IS NOT NULL;
CREATE INDEX stock_movements_created ON inventory.stock_movements (created_at DESC);
CREATE INDEX stock_movements_product ON inventory.stock_movements (product_id, created_at DESC);

CREATE TABLE inventory.stock_alerts (
  alert_id                   uuid PRIMARY KEY,
  product_id                 text NOT NULL,
  warehouse_id               uuid NOT NULL,
  alert_level                text NOT NULL CHECK (alert_level IN ('warning', 'critical')),
  available_quantity         integer NOT NULL,
  reorder_point              integer NOT NULL,
  suggested_reorder_quantity integer NOT NULL CHECK (suggested_reorder_quantity >= 0),
  status                     text NOT NULL CHECK (status IN ('open', 'resolved')),
  opened_at                  timestamptz NOT NULL DEFAULT now(),
  resolved_at                timestamptz
);
CREATE UNIQUE INDEX stock_alerts_open ON inventory.stock_alerts (product_id, warehouse_id)
  WHERE status = 'open';
CREATE INDEX stock_alerts_status ON inventory.stock_alerts (status, opened_at);
