-- Demo catalogue (agents/8001-product.md): PROD-001..PROD-012 with their fixed ids, four primary
-- categories, one product sold through two variants and one bundle. Stock belongs to inventory.
-- Idempotent: every insert is ON CONFLICT DO NOTHING.

INSERT INTO catalog.categories (category_id, parent_id, name, slug, description, level, path, display_order, seo_title, seo_description) VALUES
  ('50000000-0000-4000-8000-000000000001', NULL, 'Electronics', 'electronics', 'Phones, audio, TVs and gadgets', 0, '/50000000-0000-4000-8000-000000000001/', 1, 'Electronics', 'Phones, audio, TVs and gadgets'),
  ('50000000-0000-4000-8000-000000000002', NULL, 'Apparel', 'apparel', 'Clothing and outerwear', 0, '/50000000-0000-4000-8000-000000000002/', 2, 'Apparel', 'Clothing and outerwear'),
  ('50000000-0000-4000-8000-000000000003', NULL, 'Home & Kitchen', 'home-kitchen', 'Cookware, appliances and tableware', 0, '/50000000-0000-4000-8000-000000000003/', 3, 'Home & Kitchen', 'Cookware, appliances and tableware'),
  ('50000000-0000-4000-8000-000000000004', NULL, 'Sports', 'sports', 'Fitness and outdoor gear', 0, '/50000000-0000-4000-8000-000000000004/', 4, 'Sports', 'Fitness and outdoor gear')
ON CONFLICT DO NOTHING;

INSERT INTO catalog.sku_registry (sku, kind, owner_id) VALUES
  ('PROD-001', 'product', '10000000-0000-4000-8000-000000000001'),
  ('PROD-002', 'product', '10000000-0000-4000-8000-000000000002'),
  ('PROD-003', 'product', '10000000-0000-4000-8000-000000000003'),
  ('PROD-004', 'product', '10000000-0000-4000-8000-000000000004'),
  ('PROD-005', 'product', '10000000-0000-4000-8000-000000000005'),
  ('PROD-006', 'product', '10000000-0000-4000-8000-000000000006'),
  ('PROD-007', 'product', '10000000-0000-4000-8000-000000000007'),
  ('PROD-008', 'product', '10000000-0000-4000-8000-000000000008'),
  ('PROD-009', 'product', '10000000-0000-4000-8000-000000000009'),
  ('PROD-010', 'product', '10000000-0000-4000-8000-000000000010'),
  ('PROD-011', 'product', '10000000-0000-4000-8000-000000000011'),
  ('PROD-012', 'product', '10000000-0000-4000-8000-000000000012'),
  ('APP-TEE-001', 'product', '10000000-0000-4000-8000-000000000101'),
  ('APP-TEE-001-M-BLK', 'variant', '30000000-0000-4000-8000-000000000001'),
  ('APP-TEE-001-L-BLK', 'variant', '30000000-0000-4000-8000-000000000002'),
  ('BNDL-HOME-OFFICE', 'bundle', '40000000-0000-4000-8000-000000000001')
ON CONFLICT DO NOTHING;

INSERT INTO catalog.products (product_id, sku, name, description, category, brand, price, cost, compare_at_price, currency, weight, dimensions, condition, grade, status, tags, created_at, updated_at) VALUES
  ('10000000-0000-4000-8000-000000000001', 'PROD-001', 'Wireless Noise-Cancelling Headphones', 'Over-ear Bluetooth headphones with active noise cancelling and 30-hour battery life.', 'Electronics', 'SoundWave', 199.99, 120.00, 249.99, 'USD', 0.250, '{"length": 19, "width": 17, "height": 8, "unit": "cm"}', 'new', 'A', 'active', ARRAY['electronics', 'soundwave'], now() - interval '99 days', now() - interval '99 days'),
  ('10000000-0000-4000-8000-000000000002', 'PROD-002', 'Smartphone X12 128GB', '6.1-inch OLED smartphone with dual camera and 128 GB storage.', 'Electronics', 'Nova', 699.00, 450.00, NULL, 'USD', 0.180, '{"length": 15, "width": 7, "height": 1, "unit": "cm"}', 'new', 'A', 'active', ARRAY['electronics', 'nova'], now() - interval '98 days', now() - interval '98 days'),
  ('10000000-0000-4000-8000-000000000003', 'PROD-003', '4K Ultra HD Smart TV 55"', '55-inch 4K HDR smart television with built-in streaming apps.', 'Electronics', 'Visionix', 899.00, 610.00, 999.00, 'USD', 17.500, '{"length": 123, "width": 71, "height": 8, "unit": "cm"}', 'new', 'A', 'active', ARRAY['electronics', 'visionix'], now() - interval '97 days', now() - interval '97 days'),
  ('10000000-0000-4000-8000-000000000004', 'PROD-004', 'Bluetooth Portable Speaker', 'Waterproof portable speaker with 12-hour playtime.', 'Electronics', 'SoundWave', 59.99, 30.00, NULL, 'USD', 0.540, '{"length": 18, "width": 7, "height": 7, "unit": "cm"}', 'new', 'A', 'active', ARRAY['electronics', 'soundwave'], now() - interval '96 days', now() - interval '96 days'),
  ('10000000-0000-4000-8000-000000000005', 'PROD-005', 'Men''s Trail Running Shoes', 'Lightweight trail running shoes with grippy outsole.', 'Sports', 'Stride', 89.99, 45.00, NULL, 'USD', 0.620, '{"length": 32, "width": 21, "height": 12, "unit": "cm"}', 'new', 'A', 'active', ARRAY['sports', 'stride'], now() - interval '95 days', now() - interval '95 days'),
  ('10000000-0000-4000-8000-000000000006', 'PROD-006', 'Premium Yoga Mat 6mm', 'Non-slip 6 mm yoga mat with carrying strap.', 'Sports', 'ZenFit', 29.99, 12.00, NULL, 'USD', 1.200, '{"length": 183, "width": 61, "height": 1, "unit": "cm"}', 'new', 'A', 'active', ARRAY['sports', 'zenfit'], now() - interval '94 days', now() - interval '94 days'),
  ('10000000-0000-4000-8000-000000000007', 'PROD-007', 'Adjustable Dumbbell Set 20kg', 'Pair of adjustable dumbbells, 2.5 to 10 kg each.', 'Sports', 'IronCore', 149.00, 85.00, NULL, 'USD', 20.000, '{"length": 40, "width": 20, "height": 20, "unit": "cm"}', 'new', 'A', 'active', ARRAY['sports', 'ironcore'], now() - interval '93 days', now() - interval '93 days'),
  ('10000000-0000-4000-8000-000000000008', 'PROD-008', 'Women''s Waterproof Rain Jacket', 'Breathable waterproof shell with packable hood.', 'Apparel', 'Northpeak', 119.00, 55.00, NULL, 'USD', 0.450, '{"length": 35, "width": 28, "height": 5, "unit": "cm"}', 'new', 'A', 'active', ARRAY['apparel', 'northpeak'], now() - interval '92 days', now() - interval '92 days'),
  ('10000000-0000-4000-8000-000000000009', 'PROD-009', 'Organic Cotton Hoodie', 'Unisex hoodie in 100% organic cotton.', 'Apparel', 'Northpeak', 49.99, 20.00, NULL, 'USD', 0.600, '{"length": 35, "width": 30, "height": 6, "unit": "cm"}', 'new', 'A', 'active', ARRAY['apparel', 'northpeak'], now() - interval '91 days', now() - interval '91 days'),
  ('10000000-0000-4000-8000-000000000010', 'PROD-010', 'Stainless Steel Chef''s Knife 8"', 'Forged 8-inch chef''s knife with ergonomic handle.', 'Home & Kitchen', 'Culina', 79.00, 32.00, NULL, 'USD', 0.230, '{"length": 34, "width": 5, "height": 2, "unit": "cm"}', 'new', 'A', 'active', ARRAY['home & kitchen', 'culina'], now() - interval '90 days', now() - interval '90 days'),
  ('10000000-0000-4000-8000-000000000011', 'PROD-011', 'Espresso Machine Pro', '15-bar espresso machine with steam wand.', 'Home & Kitchen', 'Culina', 349.00, 210.00, 399.00, 'USD', 6.800, '{"length": 33, "width": 28, "height": 31, "unit": "cm"}', 'new', 'A', 'active', ARRAY['home & kitchen', 'culina'], now() - interval '89 days', now() - interval '89 days'),
  ('10000000-0000-4000-8000-000000000012', 'PROD-012', 'Ceramic Coffee Mug', '350 ml stoneware coffee mug, dishwasher safe.', 'Home & Kitchen', 'HearthHome', 9.99, 3.50, NULL, 'USD', 0.350, '{"length": 12, "width": 9, "height": 10, "unit": "cm"}', 'new', 'A', 'active', ARRAY['home & kitchen', 'hearthhome'], now() - interval '88 days', now() - interval '88 days'),
  ('10000000-0000-4000-8000-000000000101', 'APP-TEE-001', 'Classic Cotton T-Shirt', 'Soft crew-neck t-shirt in combed cotton, sold by size and colour.', 'Apparel', 'Northpeak', 19.99, 7.00, NULL, 'USD', 0.200, '{"length": 30, "width": 25, "height": 2, "unit": "cm"}', 'new', 'A', 'active', ARRAY['apparel', 'northpeak'], now() - interval '80 days', now() - interval '80 days')
ON CONFLICT DO NOTHING;

INSERT INTO catalog.product_categories (product_id, category_id, is_primary) VALUES
  ('10000000-0000-4000-8000-000000000001', '50000000-0000-4000-8000-000000000001', true),
  ('10000000-0000-4000-8000-000000000002', '50000000-0000-4000-8000-000000000001', true),
  ('10000000-0000-4000-8000-000000000003', '50000000-0000-4000-8000-000000000001', true),
  ('10000000-0000-4000-8000-000000000004', '50000000-0000-4000-8000-000000000001', true),
  ('10000000-0000-4000-8000-000000000005', '50000000-0000-4000-8000-000000000004', true),
  ('10000000-0000-4000-8000-000000000006', '50000000-0000-4000-8000-000000000004', true),
  ('10000000-0000-4000-8000-000000000007', '50000000-0000-4000-8000-000000000004', true),
  ('10000000-0000-4000-8000-000000000008', '50000000-0000-4000-8000-000000000002', true),
  ('10000000-0000-4000-8000-000000000009', '50000000-0000-4000-8000-000000000002', true),
  ('10000000-0000-4000-8000-000000000010', '50000000-0000-4000-8000-000000000003', true),
  ('10000000-0000-4000-8000-000000000011', '50000000-0000-4000-8000-000000000003', true),
  ('10000000-0000-4000-8000-000000000012', '50000000-0000-4000-8000-000000000003', true),
  ('10000000-0000-4000-8000-000000000101', '50000000-0000-4000-8000-000000000002', true)
ON CONFLICT DO NOTHING;

INSERT INTO catalog.product_images (image_id, product_id, url, alt_text, position, is_primary) VALUES
  ('60000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-000000000001', 'https://images.mercato.example/products/prod-001.jpg', 'Wireless Noise-Cancelling Headphones', 0, true),
  ('60000000-0000-4000-8000-000000000002', '10000000-0000-4000-8000-000000000002', 'https://images.mercato.example/products/prod-002.jpg', 'Smartphone X12 128GB', 0, true),
  ('60000000-0000-4000-8000-000000000003', '10000000-0000-4000-8000-000000000003', 'https://images.mercato.example/products/prod-003.jpg', '4K Ultra HD Smart TV 55"', 0, true),
  ('60000000-0000-4000-8000-000000000004', '10000000-0000-4000-8000-000000000004', 'https://images.mercato.example/products/prod-004.jpg', 'Bluetooth Portable Speaker', 0, true),
  ('60000000-0000-4000-8000-000000000005', '10000000-0000-4000-8000-000000000005', 'https://images.mercato.example/products/prod-005.jpg', 'Men''s Trail Running Shoes', 0, true),
  ('60000000-0000-4000-8000-000000000006', '10000000-0000-4000-8000-000000000006', 'https://images.mercato.example/products/prod-006.jpg', 'Premium Yoga Mat 6mm', 0, true),
  ('60000000-0000-4000-8000-000000000007', '10000000-0000-4000-8000-000000000007', 'https://images.mercato.example/products/prod-007.jpg', 'Adjustable Dumbbell Set 20kg', 0, true),
  ('60000000-0000-4000-8000-000000000008', '10000000-0000-4000-8000-000000000008', 'https://images.mercato.example/products/prod-008.jpg', 'Women''s Waterproof Rain Jacket', 0, true),
  ('60000000-0000-4000-8000-000000000009', '10000000-0000-4000-8000-000000000009', 'https://images.mercato.example/products/prod-009.jpg', 'Organic Cotton Hoodie', 0, true),
  ('60000000-0000-4000-8000-000000000010', '10000000-0000-4000-8000-000000000010', 'https://images.mercato.example/products/prod-010.jpg', 'Stainless Steel Chef''s Knife 8"', 0, true),
  ('60000000-0000-4000-8000-000000000011', '10000000-0000-4000-8000-000000000011', 'https://images.mercato.example/products/prod-011.jpg', 'Espresso Machine Pro', 0, true),
  ('60000000-0000-4000-8000-000000000012', '10000000-0000-4000-8000-000000000012', 'https://images.mercato.example/products/prod-012.jpg', 'Ceramic Coffee Mug', 0, true),
  ('60000000-0000-4000-8000-000000000101', '10000000-0000-4000-8000-000000000101', 'https://images.mercato.example/products/app-tee-001.jpg', 'Classic Cotton T-Shirt', 0, true)
ON CONFLICT DO NOTHING;

INSERT INTO catalog.variant_attributes (attribute_id, name, type, display_order, is_required, is_visible) VALUES
  ('70000000-0000-4000-8000-000000000001', 'Size', 'size', 1, true, true),
  ('70000000-0000-4000-8000-000000000002', 'Color', 'color', 2, false, true)
ON CONFLICT DO NOTHING;

INSERT INTO catalog.product_variants (variant_id, parent_product_id, variant_sku, variant_name, is_master, is_active, sort_order, weight, attribute_key) VALUES
  ('30000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-000000000101', 'APP-TEE-001-M-BLK', 'M / Black', true, true, 1, 0.200, 'color=black;size=m'),
  ('30000000-0000-4000-8000-000000000002', '10000000-0000-4000-8000-000000000101', 'APP-TEE-001-L-BLK', 'L / Black', false, true, 2, 0.220, 'color=black;size=l')
ON CONFLICT DO NOTHING;

INSERT INTO catalog.variant_attribute_values (variant_id, attribute_id, value) VALUES
  ('30000000-0000-4000-8000-000000000001', '70000000-0000-4000-8000-000000000001', 'M'),
  ('30000000-0000-4000-8000-000000000001', '70000000-0000-4000-8000-000000000002', 'Black'),
  ('30000000-0000-4000-8000-000000000002', '70000000-0000-4000-8000-000000000001', 'L'),
  ('30000000-0000-4000-8000-000000000002', '70000000-0000-4000-8000-000000000002', 'Black')
ON CONFLICT DO NOTHING;

INSERT INTO catalog.variant_pricing (variant_id, price, cost, currency, valid_from)
SELECT v.variant_id, v.price, 7.00, 'USD', now() - interval '80 days'
FROM (VALUES ('30000000-0000-4000-8000-000000000001'::uuid, 19.99), ('30000000-0000-4000-8000-000000000002'::uuid, 21.99)) AS v (variant_id, price)
WHERE NOT EXISTS (SELECT 1 FROM catalog.variant_pricing p WHERE p.variant_id = v.variant_id);

INSERT INTO catalog.bundles (bundle_id, bundle_sku, bundle_name, bundle_description, bundle_type, pricing_strategy, discount_percentage, is_active, max_quantity, created_at, updated_at) VALUES
  ('40000000-0000-4000-8000-000000000001', 'BNDL-HOME-OFFICE', 'Home Office Audio Bundle', 'Noise-cancelling headphones with a portable speaker, 10% off.', 'fixed', 'percentage_discount', 10.00, true, 10, now() - interval '60 days', now() - interval '60 days')
ON CONFLICT DO NOTHING;

INSERT INTO catalog.bundle_components (bundle_id, product_id, quantity, is_required, sort_order) VALUES
  ('40000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-000000000001', 1, true, 1),
  ('40000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-000000000004', 1, true, 2)
ON CONFLICT DO NOTHING;
