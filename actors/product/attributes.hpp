// Typed product attributes (agents/8001-product.md "attribute_definitions", Rules "Attributes"):
// the definitions and per-product values held in memory beside the catalogue (updated after
// commits like it), which definitions apply to a product (scope), value checking per type, the AND
// filter of POST /products/filter, the facets, and the search texts of searchable values (the
// catalogue's search_extension). Plain C++ (no CAF, no SQL).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "product/catalog.hpp"

namespace mercato::product {

struct attribute_definition {
  std::string id;
  std::string code;
  std::string name;
  std::string type;            // text number boolean select multiselect date color dimension
  std::string scope = "global";  // global | category | product_type
  std::string category_id;     // scope category
  std::vector<std::string> product_types;  // scope product_type: the type codes it applies to
  std::optional<std::string> unit, group_name, default_value, help_text;
  nlohmann::json options;           // null or array of strings / {value, label}
  nlohmann::json validation_rules;  // null or {min, max, max_length, pattern}
  bool is_required = false;
  bool is_filterable = true;
  bool is_searchable = false;
  bool is_comparable = false;
  bool is_visible = true;
  int64_t display_order = 0;
  micros created_at = 0;
  micros updated_at = 0;

  std::vector<std::string> option_values() const;
};

// A stored value: number/dimension → JSON number, boolean → bool, date → "YYYY-MM-DD",
// multiselect → array of strings, others → string.
using attribute_value = nlohmann::json;

struct stored_attribute_value {
  std::string product_id;
  std::string attribute_id;
  attribute_value value;
};

// Checks `raw` against the definition's type, options and validation rules: the canonical
// value, or the message naming what is wrong.
struct checked_value {
  attribute_value value;
  std::string error;  // empty = ok
};
checked_value check_attribute_value(const attribute_definition& def, const nlohmann::json& raw);

// "#RRGGBB" or a CSS colour name (case-insensitive).
bool valid_color(const std::string& text);

// Operators of POST /products/filter valid for a type.
bool operator_valid_for(const std::string& type, const std::string& op);

struct attribute_filter {
  const attribute_definition* def = nullptr;
  std::string op;
  nlohmann::json value;  // checked by check_filter_value
};
// The filter's value for `op` ("in" an array, "between" [lo, hi]); error text or empty.
std::string check_filter_value(const attribute_definition& def, const std::string& op, nlohmann::json& value);
bool filter_matches(const attribute_filter& f, const attribute_value* stored);

class attribute_catalog : public search_extension {
 public:
  void load(std::vector<attribute_definition> defs, std::vector<stored_attribute_value> values);

  const attribute_definition* find(const std::string& id_or_code) const;
  const std::unordered_map<std::string, attribute_definition>& definitions() const { return defs_; }
  // Definitions by display_order then code.
  std::vector<const attribute_definition*> sorted() const;
  // The product's values (attribute id → value); nullptr when none.
  const std::map<std::string, attribute_value>* values_of(const std::string& product_id) const;
  const attribute_value* value(const std::string& product_id, const std::string& attribute_id) const;
  bool has_values(const std::string& attribute_id) const;

  // Whether the definition applies to the product: global always; category scope when the product
  // is mapped to the category or one of its subcategories; product_type scope when the product's
  // type is one of the definition's product_types (a product without a type gets none of them).
  bool applies(const attribute_definition& def, const product_record& p, const catalog& cat) const;
  // The product's value of `def` if it has one and `def` applies to it. A value kept from before a
  // type, category or scope change that made it inapplicable is stored but not shown, filtered,
  // faceted nor searched (it counts again if the change is undone).
  const attribute_value* applicable_value(const attribute_definition& def, const product_record& p,
                                          const catalog& cat) const;
  // Definitions that apply to the product, by display_order then code.
  std::vector<const attribute_definition*> applicable(const product_record& p, const catalog& cat) const;
  // Required applicable attributes without a value when `p` would carry `values`.
  std::vector<std::string> missing_required(const product_record& p, const catalog& cat,
                                            const std::map<std::string, attribute_value>* values) const;

  // Facets over `products`: select/multiselect/boolean/color → values [{value, count}],
  // number/dimension → {min, max}; filterable definitions that have applicable values only.
  nlohmann::json facets(const std::vector<const product_record*>& products, const catalog& cat) const;

  // search_extension: the best match of the query in the product's applicable values of searchable
  // definitions (attribute_search.hpp); 0 when none.
  double search_score(const product_record& p, const catalog& cat, const std::string& query_lower) const override;

  // -- updates after commits ----------------------------------------------------------------
  void put_definition(attribute_definition def);
  void remove_definition(const std::string& id);  // its values too
  void put_values(const std::string& product_id, std::map<std::string, attribute_value> values);

 private:
  // Recomputes the search texts of the product's values of searchable definitions.
  void index_search_terms(const std::string& product_id);

  std::unordered_map<std::string, attribute_definition> defs_;
  std::unordered_map<std::string, std::string> codes_;  // code → id
  std::unordered_map<std::string, std::map<std::string, attribute_value>> values_;  // product → attr → value
  // product → (attribute id, lower-cased texts) of its values of searchable definitions; kept by
  // every update above, so search reads current values without touching JSON.
  std::unordered_map<std::string, std::vector<std::pair<std::string, std::vector<std::string>>>> search_terms_;
};

// JSON of a definition (REST).
nlohmann::json attribute_definition_json(const attribute_definition& d);

}  // namespace mercato::product
