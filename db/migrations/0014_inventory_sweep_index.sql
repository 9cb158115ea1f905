-- The expiry sweep's index holds only what the sweep reads: active reservations, by expiry.
-- The index it replaces, (status, expires_at) over every reservation, grew with each confirmed
-- and released one forever, and a generic plan made while the table was small used it to find an
-- order's reservations by status (`status IN ('active', 'confirmed', 'expired')`): every open
-- reservation read per confirmation, where the order's own index finds its few rows (session 13,
-- tests/agents/inventory/reserve_batch_test.cpp "[plans]").
DROP INDEX inventory.reservations_sweep;
CREATE INDEX reservations_sweep ON inventory.reservations (expires_at) WHERE status = 'active';
