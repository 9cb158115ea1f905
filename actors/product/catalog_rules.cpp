// Pure catalogue rules (see catalog_rules.hpp).
#include "product/catalog_rules.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace mercato::product {

bool valid_sku(std::string_view sku) {
  if (sku.empty() || sku.size() > 100) return false;
  return std::all_of(sku.begin(), sku.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '/' || c == '-';
  });
}

std::string lower(std::string_view text) {
  std::string out{text};
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::string> product_type_code(std::string_view text) {
  auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return std::nullopt;
  auto last = text.find_last_not_of(" \t");
  std::string code = lower(text.substr(first, last - first + 1));
  if (code.size() > 64 || !std::isalnum(static_cast<unsigned char>(code[0]))) return std::nullopt;
  bool ok = std::all_of(code.begin(), code.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
  return ok ? std::optional<std::string>{code} : std::nullopt;
}

std::string slugify(std::string_view text) {
  std::string out;
  bool dash = false;
  for (char raw : text) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(raw)));
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      if (dash && !out.empty()) out.push_back('-');
      dash = false;
      out.push_back(c);
    } else {
      dash = true;
    }
  }
  if (out.size() > 100) {
    out.resize(100);
    while (!out.empty() && out.back() == '-') out.pop_back();
  }
  return out;
}

namespace {

// Trigrams as pg_trgm builds them: each alphanumeric word lower-cased, padded "  word ".
std::set<std::string> trigrams(std::string_view text) {
  std::set<std::string> out;
  std::string word;
  auto flush = [&] {
    if (word.empty()) return;
    std::string padded = "  " + word + " ";
    for (size_t i = 0; i + 3 <= padded.size(); ++i) out.insert(padded.substr(i, 3));
    word.clear();
  };
  for (char raw : text) {
    if (std::isalnum(static_cast<unsigned char>(raw)))
      word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(raw))));
    else
      flush();
  }
  flush();
  return out;
}

bool contains_ci(std::string_view hay, const std::string& needle_lower) {
  if (needle_lower.empty()) return false;
  return lower(hay).find(needle_lower) != std::string::npos;
}

}  // namespace

double trigram_similarity(std::string_view a, std::string_view b) {
  auto ta = trigrams(a), tb = trigrams(b);
  if (ta.empty() || tb.empty()) return 0.0;
  size_t shared = 0;
  for (const auto& t : ta) shared += tb.count(t);
  return static_cast<double>(shared) / static_cast<double>(ta.size() + tb.size() - shared);
}

double search_score(std::string_view q, std::string_view name, std::string_view sku,
                    std::string_view brand, std::string_view description) {
  std::string ql = lower(q);
  double sim = trigram_similarity(q, name);
  double score = 0.0;
  if (lower(sku) == ql) score = 3.0;
  else if (contains_ci(name, ql)) score = 2.0;
  else if (contains_ci(sku, ql) || contains_ci(brand, ql)) score = 1.5;
  else if (contains_ci(description, ql)) score = 1.0;
  else if (sim >= 0.3) score = 0.5;
  if (score == 0.0) return 0.0;
  return score + sim;  // the trigram rank orders matches of the same kind
}

bundle_error price_bundle(const bundle_terms& terms, const std::vector<std::string>& selection,
                          int64_t quantity,
                          const std::function<money::cents(const std::string&)>& unit_price,
                          bundle_quote& out) {
  out = bundle_quote{};
  if (quantity < 1) return bundle_error::invalid_quantity;
  if (terms.max_quantity && quantity > *terms.max_quantity) return bundle_error::max_quantity;
  auto selected = [&](const std::string& id) {
    return std::find(selection.begin(), selection.end(), id) != selection.end();
  };
  // Every selected id must name a component of the bundle.
  for (const auto& s : selection) {
    bool known = std::any_of(terms.components.begin(), terms.components.end(),
                             [&](const bundle_component_spec& c) { return c.item_id == s; });
    if (!known && terms.type != "fixed") return bundle_error::selection_invalid;
  }
  std::vector<const bundle_component_spec*> chosen;
  for (const auto& c : terms.components) {
    bool take = false;
    if (terms.type == "fixed") take = true;
    else if (terms.type == "flexible") take = c.is_required || selection.empty() || selected(c.item_id);
    else take = selected(c.item_id);  // custom
    if (take) chosen.push_back(&c);
  }
  if (terms.type == "custom" && chosen.size() < 2) return bundle_error::selection_invalid;
  if (chosen.empty()) return bundle_error::selection_invalid;

  for (const auto* c : chosen) {
    priced_component p;
    p.item_id = c->item_id;
    p.per_bundle = c->quantity;
    p.quantity = c->quantity * quantity;
    p.unit_price = unit_price(c->item_id);
    p.total = p.unit_price * p.quantity;
    out.original += p.total;
    out.components.push_back(std::move(p));
  }
  money::cents price = out.original;
  if (terms.strategy == "fixed_price" && terms.bundle_price)
    price = *terms.bundle_price * quantity;
  else if (terms.strategy == "percentage_discount" && terms.discount_pct_e2)
    price = out.original - money::percent_of(out.original, *terms.discount_pct_e2);

  // The highest-priority quantity rule that the quantity reaches.
  const quantity_rule* best = nullptr;
  for (const auto& r : terms.rules)
    if (r.min_quantity <= quantity && (!best || r.priority > best->priority)) best = &r;
  if (best) {
    if (best->percentage) price -= money::percent_of(price, best->value);
    else price -= best->value * quantity;
    if (price < 0) price = 0;
  }
  out.price = price;
  out.discount = out.original - price;
  if (out.original > 0) {
    // hundredths of a percent, rounded half-up
    out.discount_pct_e2 = (out.discount * 10000 * 2 + out.original) / (2 * out.original);
  }
  return bundle_error::none;
}

std::optional<int64_t> bundle_availability(
    const std::vector<bundle_component_spec>& components,
    const std::function<std::optional<int64_t>(const std::string&)>& available) {
  std::optional<int64_t> result;
  for (const auto& c : components) {
    if (!c.is_required) continue;
    auto a = available(c.item_id);
    if (!a) return std::nullopt;
    int64_t n = c.quantity > 0 ? std::max<int64_t>(0, *a) / c.quantity : 0;
    result = result ? std::min(*result, n) : n;
  }
  return result;
}

}  // namespace mercato::product

namespace mercato::product {

std::string cut_with_ellipsis(const std::string& text, size_t max) {
  if (text.size() <= max) return text;
  return text.substr(0, max - 3) + "...";
}

std::string seo_meta_title(const std::string& name, const std::string& brand, const std::string& category) {
  std::string t = name;
  if (!category.empty()) t = name + " | " + category;  // category wins over brand
  else if (!brand.empty()) t = name + " - " + brand;
  return cut_with_ellipsis(t, 60);
}

std::string seo_meta_description(const std::string& description, const std::string& name,
                                 const std::string& price_text, const std::string& brand) {
  std::string d = description.empty() ? "Buy " + name : description;
  d += " for $" + price_text;
  if (!brand.empty()) d += " from " + brand;
  return cut_with_ellipsis(d, 160);
}

std::string seo_keywords(const std::string& name, const std::string& brand, const std::string& category) {
  std::string out;
  for (const std::string* s : {&name, &brand, &category}) {
    if (s->empty()) continue;
    if (!out.empty()) out += ", ";
    out += lower(*s);
  }
  return out;
}

}  // namespace mercato::product
