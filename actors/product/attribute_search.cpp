// Search texts of attribute values and their relevance (see attribute_search.hpp).
#include "product/attribute_search.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "product/attributes.hpp"
#include "product/catalog_rules.hpp"

namespace mercato::product {

using nlohmann::json;

namespace {

std::string number_text(double d) {
  if (std::trunc(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  return fmt::format("{}", d);
}

// The label of option `value`, when the definition gives one.
std::string option_label(const attribute_definition& def, const std::string& value) {
  if (!def.options.is_array()) return {};
  for (const auto& o : def.options)
    if (o.is_object() && o.value("value", json()) == value && o.contains("label") && o["label"].is_string())
      return o["label"].get<std::string>();
  return {};
}

}  // namespace

std::vector<std::string> attribute_search_terms(const attribute_definition& def, const json& value) {
  std::vector<std::string> out;
  auto add = [&](const std::string& text) {
    std::string l = lower(text);
    if (!l.empty() && std::find(out.begin(), out.end(), l) == out.end()) out.push_back(std::move(l));
  };
  std::vector<json> items = value.is_array() ? std::vector<json>(value.begin(), value.end()) : std::vector<json>{value};
  for (const auto& v : items) {
    if (v.is_string()) {
      const std::string& s = v.get_ref<const std::string&>();
      add(s);
      if (def.type == "select" || def.type == "multiselect") add(option_label(def, s));
    } else if (v.is_number()) {
      std::string n = number_text(v.get<double>());
      add(def.unit && !def.unit->empty() ? n + " " + *def.unit : n);
    }
  }
  return out;
}

double attribute_search_score(const std::string& query_lower, const std::vector<std::string>& terms) {
  if (query_lower.empty()) return 0.0;
  double best = -1.0;
  for (const auto& t : terms)
    if (t.find(query_lower) != std::string::npos) best = std::max(best, trigram_similarity(query_lower, t));
  return best < 0 ? 0.0 : 1.2 + 0.5 * best;
}

}  // namespace mercato::product
