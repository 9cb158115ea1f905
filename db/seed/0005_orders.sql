-- Order agent demo data: sales tax rates per ship-to state (US has no country-wide default row,
-- so other states are taxed at 0). No demo orders.
INSERT INTO orders.tax_rates (tax_rate_id, country, region, rate, name) VALUES
  ('50000000-0000-4000-8000-000000000001', 'US', 'TX', 0.0825, 'Texas sales tax'),
  ('50000000-0000-4000-8000-000000000002', 'US', 'NY', 0.08875, 'New York sales tax'),
  ('50000000-0000-4000-8000-000000000003', 'US', 'CA', 0.0725, 'California sales tax'),
  ('50000000-0000-4000-8000-000000000004', 'US', 'CO', 0.029, 'Colorado sales tax')
ON CONFLICT DO NOTHING;
