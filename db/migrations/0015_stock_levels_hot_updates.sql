-- Stock levels are the most updated rows of the order path: every reserve, confirmation and
-- release of a product rewrites its level. An index on available_quantity (a generated column that
-- changes with each of them) made every such update a non-HOT one: a new entry in all four
-- indexes per update, and index chains of dead versions that the reserve's lock read walks until
-- a vacuum (0 of 2,121 updates HOT in 10 s of the orders run). No query reads that index: the
-- level listing's stock-status filter is a per-row test of quantity against reorder_point, and
-- the low-stock report starts from the open alerts. Without it an update that changes no indexed
-- column stays on its page (HOT), given room there: fillfactor 70 leaves it.
DROP INDEX inventory.stock_levels_available;
ALTER TABLE inventory.stock_levels SET (fillfactor = 70);
