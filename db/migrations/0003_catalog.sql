-- The product agent's catalogue (agents/8001-product.md "Owns"): products, one SKU namespace,
-- images, the category tree, variants with priced history, bundles, typed attributes and SEO.
-- The agent is the only writer; it keeps an in-memory read model and re-reads rows it changed.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- One SKU namespace for products, variants and bundles (a SKU names exactly one sellable thing,
-- and stays reserved after a soft delete).
CREATE TABLE catalog.sku_registry (
  sku        text PRIMARY KEY CHECK (sku ~ '^[A-Za-z0-9._/-]{1,100}$'),
  kind       text NOT NULL CHECK (kind IN ('product', 'variant', 'bundle')),
  owner_id   uuid NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE catalog.products (
  product_id       uuid PRIMARY KEY,
  sku              text NOT NULL UNIQUE,  -- registered in sku_registry
  name             text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
  description      text NOT NULL DEFAULT '',
  category         text NOT NULL DEFAULT '',
  brand            text NOT NULL DEFAULT '',
  price            numeric(12,2) NOT NULL CHECK (price >= 0),
  cost             numeric(12,2) CHECK (cost >= 0),
  compare_at_price numeric(12,2) CHECK (compare_at_price IS NULL OR compare_at_price >= price),
  currency         char(3) NOT NULL DEFAULT 'USD',
  weight           numeric(8,3) NOT NULL DEFAULT 0 CHECK (weight >= 0),
  dimensions       jsonb,
  condition        text NOT NULL DEFAULT 'new' CHECK (condition IN ('new', 'refurbished', 'used', 'open_box')),
  grade            text NOT NULL DEFAULT 'A' CHECK (grade IN ('A', 'B', 'C', 'D')),
  status           text NOT NULL DEFAULT 'active' CHECK (status IN ('draft', 'active', 'archived')),
  tags             text[] NOT NULL DEFAULT '{}',
  metadata         jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- stock asked of inventory at creation and not yet acknowledged (initial_stock retry job)
  pending_initial_stock integer NOT NULL DEFAULT 0 CHECK (pending_initial_stock >= 0),
  row_version      bigint NOT NULL DEFAULT 1,
  deleted_at       timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX products_name_trgm ON catalog.products USING gin (name gin_trgm_ops);
CREATE INDEX products_sku_trgm ON catalog.products USING gin (sku gin_trgm_ops);
CREATE INDEX products_description_trgm ON catalog.products USING gin (description gin_trgm_ops);
CREATE INDEX products_brand_trgm ON catalog.products USING gin (brand gin_trgm_ops);
CREATE INDEX products_pending_stock ON catalog.products (product_id) WHERE pending_initial_stock > 0;

CREATE TABLE catalog.product_images (
  image_id   uuid PRIMARY KEY,
  product_id uuid NOT NULL REFERENCES catalog.products (product_id),
  url        text NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2000),
  alt_text   text NOT NULL DEFAULT '',
  position   integer NOT NULL DEFAULT 0,
  is_primary boolean NOT NULL DEFAULT false
);
CREATE INDEX product_images_product ON catalog.product_images (product_id, position);
CREATE UNIQUE INDEX product_images_one_primary ON catalog.product_images (product_id) WHERE is_primary;

CREATE TABLE catalog.categories (
  category_id     uuid PRIMARY KEY,
  parent_id       uuid REFERENCES catalog.categories (category_id),
  name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
  slug            text NOT NULL UNIQUE,
  description     text NOT NULL DEFAULT '',
  image_url       text,
  level           integer NOT NULL DEFAULT 0 CHECK (level BETWEEN 0 AND 9),
  path            text NOT NULL,
  display_order   integer NOT NULL DEFAULT 0,
  is_active       boolean NOT NULL DEFAULT true,
  seo_title       text,
  seo_description text,
  seo_keywords    text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CHECK (parent_id IS NULL OR parent_id <> category_id)
);
CREATE UNIQUE INDEX categories_name_ci ON catalog.categories (lower(name));
CREATE INDEX categories_parent ON catalog.categories (parent_id);
CREATE INDEX categories_path ON catalog.categories (path text_pattern_ops);

CREATE TABLE catalog.product_categories (
  product_id  uuid NOT NULL REFERENCES catalog.products (product_id),
  category_id uuid NOT NULL REFERENCES catalog.categories (category_id),
  is_primary  boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (product_id, category_id)
);
CREATE UNIQUE INDEX product_categories_one_primary ON catalog.product_categories (product_id) WHERE is_primary;
CREATE INDEX product_categories_category ON catalog.product_categories (category_id);

CREATE TABLE catalog.variant_attributes (
  attribute_id  uuid PRIMARY KEY,
  name          text NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 100),
  type          text NOT NULL CHECK (type IN ('text', 'color', 'size', 'number')),
  display_order integer NOT NULL DEFAULT 0,
  is_required   boolean NOT NULL DEFAULT false,
  is_visible    boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE catalog.product_variants (
  variant_id        uuid PRIMARY KEY,
  parent_product_id uuid NOT NULL REFERENCES catalog.products (product_id),
  variant_sku       text NOT NULL UNIQUE,  -- registered in sku_registry
  variant_name      text NOT NULL DEFAULT '',
  is_master         boolean NOT NULL DEFAULT false,
  is_active         boolean NOT NULL DEFAULT true,
  sort_order        integer NOT NULL DEFAULT 0,
  weight            numeric(8,3) CHECK (weight >= 0),
  -- canonical "name=value;..." of the attribute combination, unique among active variants
  attribute_key     text NOT NULL DEFAULT '',
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX product_variants_one_master ON catalog.product_variants (parent_product_id) WHERE is_master AND is_active;
CREATE UNIQUE INDEX product_variants_combination ON catalog.product_variants (parent_product_id, attribute_key) WHERE is_active;

CREATE TABLE catalog.variant_attribute_values (
  variant_id   uuid NOT NULL REFERENCES catalog.product_variants (variant_id),
  attribute_id uuid NOT NULL REFERENCES catalog.variant_attributes (attribute_id),
  value        text NOT NULL,
  UNIQUE (variant_id, attribute_id)
);

CREATE TABLE catalog.variant_pricing (
  pricing_id       bigserial PRIMARY KEY,
  variant_id       uuid NOT NULL REFERENCES catalog.product_variants (variant_id),
  price            numeric(12,2) NOT NULL CHECK (price >= 0),
  compare_at_price numeric(12,2) CHECK (compare_at_price >= 0),
  cost             numeric(12,2) CHECK (cost >= 0),
  currency         char(3) NOT NULL DEFAULT 'USD',
  valid_from       timestamptz NOT NULL DEFAULT now(),
  valid_to         timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  CHECK (valid_to IS NULL OR valid_to > valid_from),
  EXCLUDE USING gist (variant_id WITH =, tstzrange(valid_from, valid_to) WITH &&)
);

CREATE TABLE catalog.bundles (
  bundle_id           uuid PRIMARY KEY,
  bundle_sku          text NOT NULL UNIQUE,  -- registered in sku_registry
  bundle_name         text NOT NULL CHECK (char_length(bundle_name) BETWEEN 1 AND 255),
  bundle_description  text NOT NULL DEFAULT '',
  bundle_type         text NOT NULL CHECK (bundle_type IN ('fixed', 'flexible', 'custom')),
  pricing_strategy    text NOT NULL CHECK (pricing_strategy IN ('fixed_price', 'percentage_discount', 'component_sum')),
  bundle_price        numeric(12,2) CHECK (bundle_price >= 0),
  discount_percentage numeric(5,2) CHECK (discount_percentage > 0 AND discount_percentage < 100),
  is_active           boolean NOT NULL DEFAULT true,
  valid_from          timestamptz,
  valid_to            timestamptz,
  max_quantity        integer CHECK (max_quantity >= 1),
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to > valid_from),
  CHECK (pricing_strategy <> 'fixed_price' OR bundle_price IS NOT NULL),
  CHECK (pricing_strategy <> 'percentage_discount' OR discount_percentage IS NOT NULL)
);

CREATE TABLE catalog.bundle_components (
  bundle_id   uuid NOT NULL REFERENCES catalog.bundles (bundle_id),
  product_id  uuid NOT NULL,  -- a product or a variant (sellable item id)
  quantity    integer NOT NULL DEFAULT 1 CHECK (quantity >= 1),
  is_required boolean NOT NULL DEFAULT true,
  sort_order  integer NOT NULL DEFAULT 0,
  PRIMARY KEY (bundle_id, product_id)
);
CREATE INDEX bundle_components_product ON catalog.bundle_components (product_id);

CREATE TABLE catalog.bundle_pricing_rules (
  rule_id        bigserial PRIMARY KEY,
  bundle_id      uuid NOT NULL REFERENCES catalog.bundles (bundle_id),
  rule_type      text NOT NULL DEFAULT 'quantity_discount' CHECK (rule_type = 'quantity_discount'),
  min_quantity   integer NOT NULL DEFAULT 1 CHECK (min_quantity >= 1),
  discount_type  text NOT NULL CHECK (discount_type IN ('percentage', 'fixed_amount')),
  discount_value numeric(12,2) NOT NULL CHECK (discount_value > 0),
  priority       integer NOT NULL DEFAULT 0,
  is_active      boolean NOT NULL DEFAULT true,
  valid_from     timestamptz,
  valid_to       timestamptz
);

CREATE TABLE catalog.attribute_definitions (
  attribute_id     uuid PRIMARY KEY,
  attribute_code   text NOT NULL UNIQUE CHECK (attribute_code ~ '^[a-z][a-z0-9_]{0,63}$'),
  name             text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
  type             text NOT NULL CHECK (type IN ('text', 'number', 'boolean', 'select', 'multiselect', 'date', 'color', 'dimension')),
  scope            text NOT NULL DEFAULT 'global' CHECK (scope IN ('global', 'category', 'product_type')),
  category_id      uuid REFERENCES catalog.categories (category_id),
  unit             text,
  group_name       text,
  options          jsonb,
  validation_rules jsonb,
  default_value    text,
  help_text        text,
  is_required      boolean NOT NULL DEFAULT false,
  is_filterable    boolean NOT NULL DEFAULT true,
  is_searchable    boolean NOT NULL DEFAULT false,
  is_comparable    boolean NOT NULL DEFAULT false,
  is_visible       boolean NOT NULL DEFAULT true,
  display_order    integer NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE catalog.product_attribute_values (
  product_id    uuid NOT NULL REFERENCES catalog.products (product_id),
  attribute_id  uuid NOT NULL REFERENCES catalog.attribute_definitions (attribute_id) ON DELETE CASCADE,
  text_value    text,
  numeric_value numeric,
  boolean_value boolean,
  date_value    date,
  "values"      text[],
  UNIQUE (product_id, attribute_id)
);
CREATE INDEX product_attribute_values_text ON catalog.product_attribute_values (attribute_id, text_value);
CREATE INDEX product_attribute_values_numeric ON catalog.product_attribute_values (attribute_id, numeric_value);
CREATE INDEX product_attribute_values_boolean ON catalog.product_attribute_values (attribute_id, boolean_value);
CREATE INDEX product_attribute_values_date ON catalog.product_attribute_values (attribute_id, date_value);
CREATE INDEX product_attribute_values_values ON catalog.product_attribute_values USING gin ("values");

CREATE TABLE catalog.product_seo (
  product_id       uuid PRIMARY KEY REFERENCES catalog.products (product_id),
  meta_title       text,
  meta_description text,
  meta_keywords    text,
  url_slug         text UNIQUE,
  canonical_url    text,
  og_title         text,
  og_description   text,
  og_image         text,
  twitter_card     text,
  robots_meta      text,
  schema_markup    jsonb,
  overridden       text[] NOT NULL DEFAULT '{}',
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Units sold per item and day, from order.order_confirmed (the `popular` sort sums 30 days).
CREATE TABLE catalog.item_sales_daily (
  item_id text NOT NULL,
  day     date NOT NULL,
  units   bigint NOT NULL DEFAULT 0 CHECK (units >= 0),
  PRIMARY KEY (item_id, day)
);
