// Pure catalogue rules (agents/8001-product.md "Rules"): SKU syntax, slugs, search ranking and
// bundle pricing. Plain C++ (no CAF, no SQL), unit-tested directly.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/money.hpp"

namespace mercato::product {

// 1..100 characters of [A-Za-z0-9._/-].
bool valid_sku(std::string_view sku);

// A product type code as stored (attribute scope product_type): `text` trimmed and lower-cased,
// or nullopt when that is not 1..64 characters of [a-z0-9_-] starting with a letter or digit.
std::optional<std::string> product_type_code(std::string_view text);
inline constexpr const char* product_type_rule =
    "product type must be 1..64 characters of a-z, 0-9, _ and - (starting with a letter or digit)";

// Lower-case, runs outside a-z0-9 → "-", trimmed, ≤ 100 characters (may be empty).
std::string slugify(std::string_view text);

// ASCII lower-case copy.
std::string lower(std::string_view text);

// pg_trgm-style similarity of two texts (shared trigrams / all trigrams of lower-cased words).
double trigram_similarity(std::string_view a, std::string_view b);

// Search relevance of a product for query `q` (0 = no match): substring matches in name, sku,
// brand, description, or a trigram similarity ≥ 0.3 with the name.
double search_score(std::string_view q, std::string_view name, std::string_view sku,
                    std::string_view brand, std::string_view description);

// ---- bundles -------------------------------------------------------------------------------

struct bundle_component_spec {
  std::string item_id;
  int64_t quantity = 1;  // per bundle unit
  bool is_required = true;
};

struct quantity_rule {
  int64_t min_quantity = 1;
  bool percentage = true;        // else a fixed amount per bundle unit
  int64_t value = 0;             // percent in hundredths (10 % = 1000) or cents
  int64_t priority = 0;
};

struct bundle_terms {
  std::string type;      // fixed | flexible | custom
  std::string strategy;  // fixed_price | percentage_discount | component_sum
  std::optional<money::cents> bundle_price;
  std::optional<int64_t> discount_pct_e2;  // 10 % = 1000
  std::optional<int64_t> max_quantity;
  std::vector<bundle_component_spec> components;
  std::vector<quantity_rule> rules;  // active and valid now
};

struct priced_component {
  std::string item_id;
  int64_t quantity = 0;  // component quantity × bundle quantity
  int64_t per_bundle = 0;
  money::cents unit_price = 0;
  money::cents total = 0;
};

struct bundle_quote {
  std::vector<priced_component> components;
  money::cents original = 0;
  money::cents price = 0;
  money::cents discount = 0;
  int64_t discount_pct_e2 = 0;  // discount ÷ original × 100, in hundredths
};

enum class bundle_error { none, selection_invalid, max_quantity, invalid_quantity };

// Prices `quantity` bundles with the optional selection (empty = none given). `unit_price` gives a
// component's unit price. Returns the error instead when the selection or quantity is refused.
bundle_error price_bundle(const bundle_terms& terms, const std::vector<std::string>& selection,
                          int64_t quantity,
                          const std::function<money::cents(const std::string&)>& unit_price,
                          bundle_quote& out);

// Bundle availability: min over components of ⌊available ÷ quantity⌋; nullopt if one is unknown.
std::optional<int64_t> bundle_availability(
    const std::vector<bundle_component_spec>& components,
    const std::function<std::optional<int64_t>(const std::string&)>& available);

}  // namespace mercato::product

namespace mercato::product {

// SEO text generation (contract "SEO generation"): cut to `max` characters with "..." when longer.
std::string cut_with_ellipsis(const std::string& text, size_t max);
std::string seo_meta_title(const std::string& name, const std::string& brand, const std::string& category);
std::string seo_meta_description(const std::string& description, const std::string& name,
                                 const std::string& price_text, const std::string& brand);
std::string seo_keywords(const std::string& name, const std::string& brand, const std::string& category);

}  // namespace mercato::product
