// The product agent's in-memory read model of its `catalog` schema: products, categories,
// variants and bundles, indexed by id and SKU, with per-product cached JSON text and the list
// query (filters, sort, paging) the hot REST paths answer from. The agent is the only writer of
// the schema, so the model is coherent: it is loaded once and updated after each commit.
// Plain C++ (no CAF, no SQL).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "domain/money.hpp"
#include "product/catalog_rules.hpp"

namespace mercato::product {

// Times are microseconds since the epoch (UTC); rendered ISO 8601.
using micros = int64_t;
std::string iso(micros t);
micros now_micros();

struct image {
  std::string url;
  std::string alt_text;
  int64_t position = 0;
  bool is_primary = false;
};

struct category_link {
  std::string category_id;
  bool is_primary = false;
};

struct product_record {
  std::string id;
  std::string sku;
  std::string name;
  std::string description;
  std::string category;  // free text (seed field)
  std::string brand;
  std::string product_type;  // type code (attribute scope product_type); empty = none
  money::cents price = 0;
  std::optional<money::cents> cost;
  std::optional<money::cents> compare_at_price;
  std::string currency = "USD";
  std::string weight = "0.000";   // NUMERIC(8,3) text, kg
  std::string dimensions_json;    // JSON object text or empty (null)
  std::string condition = "new";
  std::string grade = "A";
  std::string status = "active";
  std::vector<std::string> tags;
  std::string metadata_json = "{}";
  std::vector<image> images;
  std::vector<category_link> categories;
  std::string url_slug;  // stored SEO slug, if any
  int64_t pending_initial_stock = 0;
  int64_t row_version = 0;
  std::optional<micros> deleted_at;
  micros created_at = 0;
  micros updated_at = 0;

  bool deleted() const noexcept { return deleted_at.has_value(); }
  const image* primary_image() const;
  const category_link* primary_category() const;
  int64_t weight_grams() const;
};

struct category_record {
  std::string id;
  std::string parent_id;  // empty = root
  std::string name;
  std::string slug;
  std::string description;
  std::optional<std::string> image_url;
  int64_t level = 0;
  std::string path;  // "/<id>/<id>/"
  int64_t display_order = 0;
  bool is_active = true;
  std::optional<std::string> seo_title, seo_description, seo_keywords;
  micros created_at = 0;
  micros updated_at = 0;
};

struct variant_price {
  money::cents price = 0;
  std::optional<money::cents> compare_at_price;
  std::optional<money::cents> cost;
  std::string currency = "USD";
  micros valid_from = 0;
  std::optional<micros> valid_to;
};

struct variant_record {
  std::string id;
  std::string parent_id;
  std::string sku;
  std::string name;
  bool is_master = false;
  bool is_active = true;
  int64_t sort_order = 0;
  std::optional<std::string> weight;
  std::vector<std::pair<std::string, std::string>> attributes;  // (attribute name, value)
  std::vector<variant_price> prices;                             // history, oldest first
  micros created_at = 0;
  micros updated_at = 0;

  // The price row valid at `t`, if any.
  const variant_price* price_at(micros t) const;
};

struct variant_attribute_record {
  std::string id;
  std::string name;
  std::string type;
  int64_t display_order = 0;
  bool is_required = false;
  bool is_visible = true;
};

struct bundle_rule_record {
  quantity_rule rule;
  bool is_active = true;
  std::optional<micros> valid_from, valid_to;
};

struct bundle_component_record {
  std::string item_id;
  int64_t quantity = 1;
  bool is_required = true;
  int64_t sort_order = 0;
};

struct bundle_record {
  std::string id;
  std::string sku;
  std::string name;
  std::string description;
  std::string type;
  std::string strategy;
  std::optional<money::cents> bundle_price;
  std::optional<int64_t> discount_pct_e2;
  bool is_active = true;
  std::optional<micros> valid_from, valid_to;
  std::optional<int64_t> max_quantity;
  std::vector<bundle_component_record> components;
  std::vector<bundle_rule_record> rules;
  micros created_at = 0;
  micros updated_at = 0;

  bool currently_active(micros now) const;
  bundle_terms terms(micros now) const;
};

// Everything the agent loads at start.
struct catalog_snapshot {
  std::vector<product_record> products;
  std::vector<category_record> categories;
  std::vector<variant_record> variants;
  std::vector<variant_attribute_record> variant_attributes;
  std::vector<bundle_record> bundles;
  std::vector<std::pair<std::string, int64_t>> sales_30d;  // (item id, units)
};

// GET /products filters (seed and dashboard parameters).
struct list_query {
  std::optional<std::string> status = std::string{"active"};  // nullopt = any (not deleted)
  std::string category;     // free text or category name (case-insensitive)
  std::string category_id;
  bool include_subcategories = false;
  std::string brand;
  std::string product_type;  // exact type code
  std::optional<money::cents> min_price, max_price;
  std::string search;
  std::string sort = "newest";  // newest | oldest | name | name_desc | price_asc | price_desc | updated | updated_asc | popular | relevance
  int64_t skip = 0;
  int64_t limit = 100;
};

struct list_result {
  std::vector<const product_record*> page;
  int64_t total = 0;
};

class catalog;

// Searchable text a product has beyond its own fields (attributes.hpp: values of searchable
// attributes). The catalogue asks it about products its own fields do not match.
class search_extension {
 public:
  virtual ~search_extension() = default;
  // Relevance of `p` for the lower-cased query (0 = no match).
  virtual double search_score(const product_record& p, const catalog& cat, const std::string& query_lower) const = 0;
};

class catalog {
 public:
  void load(catalog_snapshot snapshot);
  // Search also asks `ext` (owned by the caller, outlives the catalogue; nullptr = none).
  void set_search_extension(const search_extension* ext) { search_extension_ = ext; }

  // -- look-ups -------------------------------------------------------------------------------
  const product_record* product(const std::string& id_or_sku) const;  // deleted included
  const variant_record* variant(const std::string& id_or_sku) const;
  const bundle_record* bundle(const std::string& id_or_sku) const;
  const category_record* category(const std::string& id) const;
  const category_record* category_by_name(const std::string& name) const;  // case-insensitive
  // The SKU's owner: ("product"|"variant"|"bundle", id), or nullopt.
  std::optional<std::pair<std::string, std::string>> sku_owner(const std::string& sku) const;
  bool sku_taken(const std::string& sku) const { return sku_owner(sku).has_value(); }

  const std::unordered_map<std::string, product_record>& products() const { return products_; }
  const std::unordered_map<std::string, category_record>& categories() const { return categories_; }
  const std::unordered_map<std::string, variant_record>& variants() const { return variants_; }
  const std::unordered_map<std::string, bundle_record>& bundles() const { return bundles_; }
  const std::vector<variant_attribute_record>& variant_attributes() const { return variant_attributes_; }

  // Active variants of a product, by sort_order then SKU.
  std::vector<const variant_record*> variants_of(const std::string& product_id,
                                                 bool include_inactive = false) const;
  // Category and all its descendants (path prefix).
  std::vector<std::string> subtree(const std::string& category_id) const;
  // Products (not deleted) mapped to a category.
  int64_t product_count(const std::string& category_id) const;
  // Active bundles containing `item_id` as a component.
  bool in_active_bundle(const std::string& item_id) const;

  list_result list(const list_query& q) const;

  // -- updates after commits ------------------------------------------------------------------
  void put_product(product_record p);
  void put_categories(std::vector<category_record> all);  // the whole tree (moves rewrite paths)
  // A primary category was renamed: its products' free-text category follows.
  void apply_category_rename(const std::string& category_id, const std::string& name);
  void put_variant(variant_record v);
  void put_variant_attribute(variant_attribute_record a);
  void put_bundle(bundle_record b);
  void add_sales(const std::string& item_id, int64_t units);
  int64_t sales(const std::string& item_id) const;

  // -- availability (inventory's numbers; unknown = nullopt, rendered null) -----------------------
  void set_available(const std::string& item_id, std::optional<int64_t> available);
  std::optional<int64_t> available(const std::string& item_id) const;
  // Every sellable item id (products and variants) the availability cache should know.
  std::vector<std::string> stock_item_ids() const;

  // -- rendering ------------------------------------------------------------------------------
  // The product's JSON object text (cached until the product, its categories or its stock change).
  const std::string& product_json(const product_record& p) const;
  std::string variant_json(const variant_record& v, bool with_history = false) const;
  std::string category_json(const category_record& c, bool with_breadcrumb) const;
  std::string bundle_json(const bundle_record& b) const;
  money::cents item_price(const std::string& item_id) const;  // product or variant list price

 private:
  struct cache_entry {
    std::string text;
    uint64_t epoch = 0;
    std::optional<int64_t> stock;
    bool valid = false;
  };
  void index_product(const product_record& p);

  std::unordered_map<std::string, product_record> products_;
  std::unordered_map<std::string, category_record> categories_;
  std::unordered_map<std::string, variant_record> variants_;
  std::unordered_map<std::string, bundle_record> bundles_;
  std::vector<variant_attribute_record> variant_attributes_;
  std::unordered_map<std::string, std::pair<std::string, std::string>> skus_;  // sku → (kind, id)
  std::unordered_map<std::string, int64_t> sales_;
  std::unordered_map<std::string, std::optional<int64_t>> available_;
  mutable std::unordered_map<std::string, cache_entry> cache_;
  uint64_t epoch_ = 1;  // bumped when something every product renders changes (category names)
  const search_extension* search_extension_ = nullptr;
};

}  // namespace mercato::product
