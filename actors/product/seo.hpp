// Product SEO (agents/8001-product.md "product_seo", Rules "SEO generation"): stored rows held in
// memory beside the catalogue (updated after commits), generation from the product, merging with
// hand-set (overridden) fields, and the audit. Plain C++ (no CAF, no SQL).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "product/catalog.hpp"

namespace mercato::product {

struct seo_record {
  std::string product_id;
  std::optional<std::string> meta_title, meta_description, meta_keywords, url_slug, canonical_url, og_title,
      og_description, og_image, twitter_card, robots_meta;
  nlohmann::json schema_markup;        // null when not stored
  std::vector<std::string> overridden;  // field names set by hand
  micros updated_at = 0;

  bool is_overridden(const std::string& field) const;
};

// The text fields of ProductSEO, in response order (schema_markup is separate).
const std::vector<std::string>& seo_text_fields();
std::optional<std::string>& seo_field(seo_record& r, const std::string& name);
const std::optional<std::string>& seo_field(const seo_record& r, const std::string& name);

// A product's storefront page: `base_url` (config store.base_url) + "/products/" + slug. Blanks
// around the base and its trailing slashes are dropped, so "https://shop.example/" and
// "https://shop.example" give the same URL; an empty base gives the site-relative path.
std::string product_page_url(std::string_view base_url, std::string_view slug);

class seo_catalog {
 public:
  void load(std::vector<seo_record> rows);
  const seo_record* find(const std::string& product_id) const;
  // The product owning a stored slug, or empty.
  std::string slug_owner(const std::string& slug) const;
  const std::unordered_map<std::string, seo_record>& rows() const { return rows_; }
  void put(seo_record r);

 private:
  std::unordered_map<std::string, seo_record> rows_;
  std::unordered_map<std::string, std::string> slugs_;  // slug → product id
};

// A slug for `p` unique among products: its stored slug (when `keep_stored`), else slugify(name)
// ("-2", "-3"… on a collision with another product's stored slug or one in `taken`); the id when
// the name has none.
std::string product_slug(const seo_catalog& seo, const product_record& p, const std::set<std::string>& taken = {},
                         bool keep_stored = true);

// Every field generated from the product (JSON-LD with the cached availability; canonical_url
// under `base_url`).
seo_record generate_seo(const catalog& cat, const product_record& p, const std::string& slug,
                        std::string_view base_url);

// `generated` with the stored row's overridden fields kept (all of them dropped when `overwrite`).
seo_record merge_seo(const seo_record* stored, seo_record generated, bool overwrite);

// ProductSEO JSON: the stored row's fields, the generated value for any it lacks. canonical_url
// follows the current base URL and slug unless it was set by hand (a stored one may predate a
// change of store.base_url).
nlohmann::json seo_json(const catalog& cat, const seo_catalog& seo, const product_record& p,
                        std::string_view base_url);

// GET /seo/audit over active products.
nlohmann::json seo_audit(const catalog& cat, const seo_catalog& seo);

}  // namespace mercato::product
