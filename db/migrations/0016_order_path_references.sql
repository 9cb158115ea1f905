-- Foreign keys off the order path's hot inserts; mercato.orphan_references() checks them instead.
--
-- Each foreign key check runs a query inside PostgreSQL for every inserted row. That query locks
-- the parent row FOR KEY SHARE, and the lock writes a WAL record and dirties the parent's page.
-- Rows that all point at one parent (payment gateway 1, warehouse WH-001) share that lock between
-- concurrent transactions, so PostgreSQL creates a MultiXact for them. A one-line order made 13
-- such checks. Five alternating pairs of 15 s runs (bench/commerce_bench.sh, BENCH_CUSTOMERS=1000,
-- BENCH_PROFILE=1, README "Session 18") measured PostgreSQL's CPU per order at 2.02 ms with the
-- keys and 1.85 ms without them (means), and 474-480 against 407-413 buffer hits per order.
--
-- The code keeps each of these references true:
--   * order_items, order_timeline and sagas rows are written by the order agent, in the statement
--     that inserts the order or after reading it. saga_steps rows are written in the statement
--     that updates their saga. No code deletes an order or a saga.
--   * payments.gateway_id and method_id, and payment_transactions.gateway_id, come from the
--     gateway registry's row and the customer's stored method, read in the same transaction.
--     payment_transactions.payment_id is the payment that the same statement inserts, or one that
--     was read in the same transaction. A gateway is deactivated and a method soft-deleted
--     (deleted_at); no code removes either row.
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
  LANGUAGE plpgsql STABLE
AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM (VALUES
      ('orders.order_items', 'order_id', 'orders.orders', 'order_id', 'item_id::text'),
      ('orders.order_timeline', 'order_id', 'orders.orders', 'order_id', 'event_id::text'),
      ('orders.sagas', 'order_id', 'orders.orders', 'order_id', 'saga_id::text'),
      ('orders.saga_steps', 'saga_id', 'orders.sagas', 'saga_id', 'saga_id::text || ''#'' || seq'),
      ('payments.payments', 'method_id', 'payments.payment_methods', 'method_id', 'payment_id::text'),
      ('payments.payments', 'gateway_id', 'payments.payment_gateways', 'gateway_id', 'payment_id::text'),
      ('payments.payment_transactions', 'payment_id', 'payments.payments', 'payment_id', 'transaction_id::text'),
      ('payments.payment_transactions', 'gateway_id', 'payments.payment_gateways', 'gateway_id',
       'transaction_id::text'),
      ('inventory.reservations', 'warehouse_id', 'inventory.warehouses', 'warehouse_id', 'reservation_id::text'))
    AS v(child, child_column, parent, parent_column, example)
  LOOP
    reference := r.child || '.' || r.child_column;
    EXECUTE format('SELECT count(*), (array_agg(%1$s ORDER BY %1$s))[1:5] FROM %2$s c'
                   ' WHERE c.%3$I IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %4$s p WHERE p.%5$I = c.%3$I)',
                   r.example, r.child, r.child_column, r.parent, r.parent_column)
      INTO orphans, examples;
    RETURN NEXT;
  END LOOP;
END
$$;

COMMENT ON FUNCTION mercato.orphan_references() IS
  'Rows whose parent is missing, for each foreign key that 0016 moved from PostgreSQL to the code.';
