-- The order path's invariants after a bench run, one "name value" line each (psql -t -A).
-- Every line but orders_by_status must read 0 once the sagas have settled:
--   sagas_unsettled          place/cancel sagas neither completed, compensated nor failed
--   orders_not_final         orders neither confirmed nor cancelled (a settled placement is one of them)
--   reservations_orphaned    live (active/confirmed) reservations of an order that is not confirmed
--   authorizations_orphaned  live authorizations of an order that is not confirmed
--   confirmed_unpaid         confirmed orders without exactly one live payment
--   reserved_mismatch        stock rows whose reserved_quantity is not the sum of their live reservations
--   negative_stock           stock rows with a negative on-hand, reserved or available quantity
--   orphan_references        rows of the order path whose parent is missing (migration 0016)
SELECT 'orders_by_status ' || string_agg(status || '=' || n, ' ')
  FROM (SELECT status, count(*) n FROM orders.orders GROUP BY status ORDER BY status) s;
SELECT 'sagas_unsettled ' || count(*) FROM orders.sagas
 WHERE state NOT IN ('completed', 'compensated', 'failed');
SELECT 'orders_not_final ' || count(*) FROM orders.orders WHERE status NOT IN ('confirmed', 'cancelled');
SELECT 'reservations_orphaned ' || count(*) FROM inventory.reservations r
 WHERE r.status IN ('active', 'confirmed')
   AND NOT EXISTS (SELECT 1 FROM orders.orders o WHERE o.order_id::text = r.order_id AND o.status = 'confirmed');
SELECT 'authorizations_orphaned ' || count(*) FROM payments.payments p
 WHERE p.status IN ('authorized', 'partially_captured', 'captured')
   AND NOT EXISTS (SELECT 1 FROM orders.orders o WHERE o.order_id::text = p.order_id AND o.status = 'confirmed');
SELECT 'confirmed_unpaid ' || count(*) FROM orders.orders o
 WHERE o.status = 'confirmed'
   AND (SELECT count(*) FROM payments.payments p
         WHERE p.order_id = o.order_id::text AND p.status IN ('authorized', 'partially_captured', 'captured')) <> 1;
SELECT 'reserved_mismatch ' || count(*) FROM inventory.stock_levels s
 WHERE s.reserved_quantity <> coalesce((SELECT sum(r.quantity) FROM inventory.reservations r
                                         WHERE r.product_id = s.product_id AND r.warehouse_id = s.warehouse_id
                                           AND r.status IN ('active', 'confirmed')), 0);
SELECT 'negative_stock ' || count(*) FROM inventory.stock_levels
 WHERE quantity < 0 OR reserved_quantity < 0 OR available_quantity < 0;
SELECT 'orphan_references ' || sum(orphans) FROM mercato.orphan_references();
