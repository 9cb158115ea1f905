-- Foreign keys off the order path's hot inserts; mercato.orphan_references() checks them instead.
--
-- Each foreign key check runs a query inside PostgreSQL for every inserted row. That query locks
-- the parent row FOR KEY SHARE, and the lock writes a WAL record and dirties the parent's page.
-- Rows that all point at one parent (payment gateway 1, warehouse WH-001) share that lock between
-- concurrent transactions, so PostgreSQL creates a MultiXact for them. A one-line order made 13
-- such checks. Five alternating pairs of 15 s runs (bench/commerce_bench.sh, BENCH_CUSTOMERS=1000,
-- BENCH_PROFILE=1, README "Session 18") measured PostgreSQL's CPU per order at 2.02 ms with the
-- keys and 1.85 ms without them (means), and 475-480 against 407-413 buffer hits per order.
--
-- The code keeps each of these references true:
--   * order_items, order_timeline and sagas rows are written by the order agent, in the statement
--     that inserts the order or after reading it. saga_steps rows are written in the statement
--     that updates their saga. No code deletes an order or a saga.
--   * payments.gateway_id and method_id, and payment_transactions.gateway_id, come from the
--     gateway registry's row and the customer's stored method, read in the same transaction.
--     payment_transactions.payment_id is the payment that the same statement inserts, or one that
--     was read in the same transaction. Gateways and methods are deactivated, never deleted.
--   * reservations.warehouse_id is copied from the stock level that the reservation locks, and
--     stock_levels keeps its own key to warehouses.
-- Each foreign key that goes here is one query in mercato.orphan_references(). The tests assert
-- that it finds no orphans after the order flows, after crashes and after concurrency runs. The
-- bench prints it after its load. Foreign keys off the order path stay.
ALTER TABLE orders.order_items DROP CONSTRAINT order_items_order_id_fkey;
ALTER TABLE orders.order_timeline DROP CONSTRAINT order_timeline_order_id_fkey;
ALTER TABLE orders.sagas DROP CONSTRAINT sagas_order_id_fkey;
ALTER TABLE orders.saga_steps DROP CONSTRAINT saga_steps_saga_id_fkey;
ALTER TABLE payments.payments DROP CONSTRAINT payments_method_id_fkey;
ALTER TABLE payments.payments DROP CONSTRAINT payments_gateway_id_fkey;
ALTER TABLE payments.payment_transactions DROP CONSTRAINT payment_transactions_payment_id_fkey;
ALTER TABLE payments.payment_transactions DROP CONSTRAINT payment_transactions_gateway_id_fkey;
ALTER TABLE inventory.reservations DROP CONSTRAINT reservations_warehouse_id_fkey;

CREATE SCHEMA IF NOT EXISTS mercato;

-- One row per reference that the foreign keys above used to enforce: how many rows point at a
-- parent that does not exist, and up to five of their keys. The scans are sequential, so this is
-- a check for tests, the bench and an operator, not for the request path.
CREATE FUNCTION mercato.orphan_references()
  RETURNS TABLE (reference text, orphans bigint, examples text[])
  LANGUAGE sql STABLE
AS $$
  SELECT 'orders.order_items.order_id', count(*), (array_agg(c.item_id::text ORDER BY c.item_id))[1:5]
    FROM orders.order_items c
   WHERE NOT EXISTS (SELECT 1 FROM orders.orders p WHERE p.order_id = c.order_id)
  UNION ALL
  SELECT 'orders.order_timeline.order_id', count(*), (array_agg(c.event_id::text ORDER BY c.event_id))[1:5]
    FROM orders.order_timeline c
   WHERE NOT EXISTS (SELECT 1 FROM orders.orders p WHERE p.order_id = c.order_id)
  UNION ALL
  SELECT 'orders.sagas.order_id', count(*), (array_agg(c.saga_id::text ORDER BY c.saga_id))[1:5]
    FROM orders.sagas c
   WHERE NOT EXISTS (SELECT 1 FROM orders.orders p WHERE p.order_id = c.order_id)
  UNION ALL
  SELECT 'orders.saga_steps.saga_id', count(*), (array_agg(c.saga_id::text || '#' || c.seq ORDER BY c.saga_id, c.seq))[1:5]
    FROM orders.saga_steps c
   WHERE NOT EXISTS (SELECT 1 FROM orders.sagas p WHERE p.saga_id = c.saga_id)
  UNION ALL
  SELECT 'payments.payments.method_id', count(*), (array_agg(c.payment_id::text ORDER BY c.payment_id))[1:5]
    FROM payments.payments c
   WHERE c.method_id IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM payments.payment_methods p WHERE p.method_id = c.method_id)
  UNION ALL
  SELECT 'payments.payments.gateway_id', count(*), (array_agg(c.payment_id::text ORDER BY c.payment_id))[1:5]
    FROM payments.payments c
   WHERE NOT EXISTS (SELECT 1 FROM payments.payment_gateways p WHERE p.gateway_id = c.gateway_id)
  UNION ALL
  SELECT 'payments.payment_transactions.payment_id', count(*), (array_agg(c.transaction_id::text ORDER BY c.transaction_id))[1:5]
    FROM payments.payment_transactions c
   WHERE NOT EXISTS (SELECT 1 FROM payments.payments p WHERE p.payment_id = c.payment_id)
  UNION ALL
  SELECT 'payments.payment_transactions.gateway_id', count(*), (array_agg(c.transaction_id::text ORDER BY c.transaction_id))[1:5]
    FROM payments.payment_transactions c
   WHERE NOT EXISTS (SELECT 1 FROM payments.payment_gateways p WHERE p.gateway_id = c.gateway_id)
  UNION ALL
  SELECT 'inventory.reservations.warehouse_id', count(*), (array_agg(c.reservation_id::text ORDER BY c.reservation_id))[1:5]
    FROM inventory.reservations c
   WHERE NOT EXISTS (SELECT 1 FROM inventory.warehouses p WHERE p.warehouse_id = c.warehouse_id)
$$;

COMMENT ON FUNCTION mercato.orphan_references() IS
  'Rows whose parent is missing, for each foreign key that 0016 moved from PostgreSQL to the code.';
