-- Product types for the attribute scope `product_type` (agents/8001-product.md attribute_definitions):
-- a product names its type (a lower-case code such as "shoe" or "tv"; NULL = no type), and a
-- definition of scope product_type lists the types it applies to.
ALTER TABLE catalog.products
  ADD COLUMN product_type text CHECK (product_type ~ '^[a-z0-9][a-z0-9_-]{0,63}$');

ALTER TABLE catalog.attribute_definitions
  ADD COLUMN product_types text[] NOT NULL DEFAULT '{}';

-- Until now a product_type definition could name no type and applied to every product: it becomes
-- global, so it keeps applying where it did (and its required check keeps its reach).
UPDATE catalog.attribute_definitions SET scope = 'global', updated_at = now() WHERE scope = 'product_type';

-- Types are listed exactly when the scope is product_type; each is a product type code.
ALTER TABLE catalog.attribute_definitions
  ADD CONSTRAINT attribute_definitions_product_types CHECK (
    (scope = 'product_type') = (cardinality(product_types) > 0)
    AND array_position(product_types, NULL) IS NULL
    AND (cardinality(product_types) = 0
         OR array_to_string(product_types, ' ') ~ '^[a-z0-9][a-z0-9_-]{0,63}( [a-z0-9][a-z0-9_-]{0,63})*$'));
