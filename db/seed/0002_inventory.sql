-- inventory demo data: the three demo warehouses (fixed ids, mirrored from the warehouse agent's
-- register) and stock for PROD-001..PROD-012 (fixed product ids) across them. Two levels start
-- low (PROD-011 at WH-003, PROD-012 at WH-002) so /alerts has something to show: the agent opens
-- their alerts on its start-up re-evaluation.
INSERT INTO inventory.warehouses (warehouse_id, code, name, is_active, country, region, city, priority)
VALUES ('20000000-0000-4000-8000-000000000001', 'WH-001', 'Dallas Distribution Center', true, 'US', 'TX', 'Dallas', 1),
       ('20000000-0000-4000-8000-000000000002', 'WH-002', 'Newark Fulfillment Center', true, 'US', 'NJ', 'Newark', 2),
       ('20000000-0000-4000-8000-000000000003', 'WH-003', 'Reno Warehouse', true, 'US', 'NV', 'Reno', 3)
ON CONFLICT DO NOTHING;

INSERT INTO inventory.stock_levels (product_id, warehouse_id, quantity, reorder_point, max_stock, location)
SELECT '10000000-0000-4000-8000-0000000000' || lpad(p::text, 2, '0'),
       ('20000000-0000-4000-8000-00000000000' || w::text)::uuid,
       CASE
         WHEN p = 11 AND w = 3 THEN 5   -- low: warning
         WHEN p = 12 AND w = 2 THEN 0   -- out of stock: critical
         ELSE 100 + ((p * 137 + w * 211) % 9) * 100
       END,
       CASE WHEN p IN (11, 12) THEN 20 ELSE 50 END,
       CASE WHEN p IN (11, 12) THEN 500 ELSE 2000 END,
       'A-' || lpad(p::text, 2, '0') || '-' || w::text
FROM generate_series(1, 12) AS p, generate_series(1, 3) AS w
ON CONFLICT (product_id, warehouse_id) DO NOTHING;

-- Opening balances in the ledger, so that Σ movements = on hand from day one.
INSERT INTO inventory.stock_movements (movement_id, product_id, warehouse_id, movement_type,
                                       quantity_change, reserved_change, quantity_after,
                                       reserved_after, reference_id, notes, created_by)
SELECT gen_random_uuid(), s.product_id, s.warehouse_id, 'inbound', s.quantity, 0, s.quantity, 0,
       'seed:initial_stock', 'initial stock', 'seed'
FROM inventory.stock_levels s
WHERE s.quantity > 0
ON CONFLICT DO NOTHING;

-- The two sellable variants of APP-TEE-001 (variant ids are the item ids inventory keys on).
INSERT INTO inventory.stock_levels (product_id, warehouse_id, quantity, reorder_point, max_stock, location)
VALUES ('30000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000001', 150, 20, 500, 'C-01-1'),
       ('30000000-0000-4000-8000-000000000002', '20000000-0000-4000-8000-000000000001', 120, 20, 500, 'C-02-1'),
       ('30000000-0000-4000-8000-000000000002', '20000000-0000-4000-8000-000000000002', 80, 20, 500, 'C-02-2')
ON CONFLICT (product_id, warehouse_id) DO NOTHING;
INSERT INTO inventory.stock_movements (movement_id, product_id, warehouse_id, movement_type,
                                       quantity_change, reserved_change, quantity_after,
                                       reserved_after, reference_id, notes, created_by)
SELECT gen_random_uuid(), s.product_id, s.warehouse_id, 'inbound', s.quantity, 0, s.quantity, 0,
       'seed:initial_stock', 'initial stock', 'seed'
FROM inventory.stock_levels s
WHERE s.product_id LIKE '30000000-%' AND s.quantity > 0
ON CONFLICT DO NOTHING;
