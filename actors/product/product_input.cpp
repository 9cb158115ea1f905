// Request bodies of the product agent (see product_input.hpp).
#include "product/product_input.hpp"

#include <algorithm>
#include <ctime>
#include <set>

#include <fmt/format.h>

namespace mercato::product {

using nlohmann::json;

namespace {

bool explicit_null(const input::object_reader& in, const char* key) {
  const auto& j = in.json();
  auto it = j.find(key);
  return it != j.end() && it->is_null();
}

std::optional<std::optional<money::cents>> nullable_amount(input::object_reader& in, const char* key) {
  if (explicit_null(in, key)) return std::optional<money::cents>{};
  if (auto v = in.amount(key, input::optional)) return std::optional<money::cents>{*v};
  return std::nullopt;
}

}  // namespace

std::optional<micros> parse_iso(const std::string& text) {
  int y, mo, d, h = 0, mi = 0;
  double s = 0;
  char sep = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &consumed) != 3) return std::nullopt;
  size_t pos = static_cast<size_t>(consumed);
  int64_t offset_minutes = 0;
  if (pos < text.size()) {
    sep = text[pos];
    if (sep != 'T' && sep != ' ') return std::nullopt;
    int c2 = 0;
    if (std::sscanf(text.c_str() + pos + 1, "%2d:%2d:%lf%n", &h, &mi, &s, &c2) != 3) return std::nullopt;
    pos += 1 + static_cast<size_t>(c2);
    if (pos < text.size()) {
      char z = text[pos];
      if (z == 'Z' && pos + 1 == text.size()) {
      } else if ((z == '+' || z == '-') && text.size() - pos == 6 && text[pos + 3] == ':') {
        int oh = std::atoi(text.substr(pos + 1, 2).c_str()), om = std::atoi(text.substr(pos + 4, 2).c_str());
        offset_minutes = (oh * 60 + om) * (z == '+' ? 1 : -1);
      } else {
        return std::nullopt;
      }
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s >= 61) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = 0;
  time_t t = timegm(&tm);
  return (static_cast<int64_t>(t) - offset_minutes * 60) * 1'000'000 + static_cast<int64_t>(s * 1e6);
}

product_input read_product_body(input::body_reader& in, body_mode mode) {
  auto p = mode == body_mode::create ? input::required : input::optional;
  auto p_put = mode == body_mode::patch ? input::optional : input::required;
  product_input out;
  out.sku = in.string("sku", p, 1, 100);
  if (out.sku && !valid_sku(*out.sku))
    in.issue("sku", "SKU may contain only letters, digits and . _ / -", "value_error.str.regex");
  out.name = in.string("name", p_put, 1, 255);
  out.price = in.amount("price", p_put);
  out.description = in.string("description", input::optional, 0, 20000);
  out.category = in.string("category", input::optional, 0, 255);
  out.category_id = in.string("category_id", input::optional, 0, 64);
  if (out.category_id && out.category_id->empty()) out.category_id.reset();
  out.brand = in.string("brand", input::optional, 0, 255);
  if (explicit_null(in, "product_type")) {
    out.product_type = std::string{};
  } else if (auto t = in.string("product_type", input::optional, 0, 64)) {
    auto code = product_type_code(*t);
    if (code) out.product_type = *code;
    else if (t->find_first_not_of(" \t") == std::string::npos) out.product_type = std::string{};
    else
      in.issue("product_type", product_type_rule, "value_error.str.regex");
  }
  out.cost = nullable_amount(in, "cost");
  out.compare_at_price = nullable_amount(in, "compare_at_price");
  if (auto c = in.string("currency", input::optional, 3, 3)) {
    std::string up = *c;
    for (char& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (!std::all_of(up.begin(), up.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; }))
      in.issue("currency", "currency must be a 3-letter ISO 4217 code");
    else
      out.currency = up;
  }
  if (auto w = in.number("weight", input::optional, 0, 99999.999)) out.weight = fmt::format("{:.3f}", *w);
  if (const json* d = in.object("dimensions", input::optional)) {
    for (const char* k : {"length", "width", "height"}) {
      auto it = d->find(k);
      if (it != d->end() && !it->is_null() && (!it->is_number() || it->get<double>() < 0))
        in.issue(std::vector<std::string>{"body", "dimensions", k}, "value is not a valid non-negative number",
                 "type_error.float");
    }
    out.dimensions_json = d->dump();
  }
  out.condition = in.choice("condition", input::optional, {"new", "refurbished", "used", "open_box"});
  out.grade = in.choice("grade", input::optional, {"A", "B", "C", "D"});
  out.status = in.choice("status", input::optional, {"draft", "active", "archived"});
  out.tags = in.strings("tags", input::optional, 100, 100);
  if (const json* m = in.object("metadata", input::optional)) out.metadata_json = m->dump();
  if (const json* imgs = in.array("images", input::optional, 0, 50)) {
    std::vector<image> list;
    int64_t pos = 0;
    bool any_primary = false;
    for (const auto& item : *imgs) {
      image im;
      im.position = pos;
      if (item.is_string()) {
        im.url = item.get<std::string>();
      } else if (item.is_object() && item.contains("url") && item["url"].is_string()) {
        im.url = item["url"].get<std::string>();
        if (item.contains("alt_text") && item["alt_text"].is_string()) im.alt_text = item["alt_text"].get<std::string>();
        if (item.contains("position") && item["position"].is_number_integer()) im.position = item["position"].get<int64_t>();
        if (item.contains("is_primary") && item["is_primary"].is_boolean()) im.is_primary = item["is_primary"].get<bool>();
      }
      if (im.url.empty() || im.url.size() > 2000) {
        in.issue(std::vector<std::string>{"body", "images", std::to_string(pos)}, "image must be a URL or {url, alt_text}", "value_error");
      }
      if (im.is_primary) {
        if (any_primary) im.is_primary = false;
        any_primary = true;
      }
      list.push_back(std::move(im));
      ++pos;
    }
    if (!any_primary && !list.empty()) list.front().is_primary = true;
    out.images = std::move(list);
  }
  if (mode == body_mode::create) {
    if (auto q = in.integer("stock_quantity", input::optional, 0, 1'000'000'000)) out.stock_quantity = *q;
  }
  return out;
}

product_record apply_product_input(const product_input& i, product_record p, const catalog& cat,
                                   input::object_reader& in) {
  if (i.sku) p.sku = *i.sku;
  if (i.name) p.name = *i.name;
  if (i.price) p.price = *i.price;
  if (i.description) p.description = *i.description;
  if (i.brand) p.brand = *i.brand;
  if (i.product_type) p.product_type = *i.product_type;
  if (i.cost) p.cost = *i.cost;
  if (i.compare_at_price) p.compare_at_price = *i.compare_at_price;
  if (i.currency) p.currency = *i.currency;
  if (i.weight) p.weight = *i.weight;
  if (i.dimensions_json) p.dimensions_json = *i.dimensions_json;
  if (i.condition) p.condition = *i.condition;
  if (i.grade) p.grade = *i.grade;
  if (i.status) p.status = *i.status;
  if (i.tags) p.tags = *i.tags;
  if (i.metadata_json) p.metadata_json = *i.metadata_json;
  if (i.images) p.images = *i.images;
  if (p.compare_at_price && *p.compare_at_price < p.price)
    in.issue("compare_at_price", "compare_at_price must be greater than or equal to price");

  // Primary category: category_id wins over the free-text name (matched case-insensitively).
  const category_record* primary = nullptr;
  if (i.category_id) {
    primary = cat.category(*i.category_id);
    if (!primary) in.issue("category_id", "Category not found", "value_error.not_found");
  } else if (i.category) {
    primary = cat.category_by_name(*i.category);
  }
  if (i.category_id || i.category) {
    p.category = primary ? primary->name : *i.category;
    for (auto& l : p.categories) l.is_primary = false;
    if (primary) {
      bool found = false;
      for (auto& l : p.categories)
        if (l.category_id == primary->id) l.is_primary = found = true;
      if (!found) p.categories.push_back({primary->id, true});
    }
  }
  return p;
}

category_input read_category_body(input::body_reader& in, bool create) {
  category_input c;
  c.name = in.string("name", create ? input::required : input::optional, 1, 255);
  if (c.name) {
    auto b = c.name->find_first_not_of(" \t");
    if (b == std::string::npos) in.issue("name", "name must not be blank");
  }
  c.parent_given = in.json().is_object() && in.json().contains("parent_id");
  c.parent_id = in.string("parent_id", input::optional, 0, 64);
  if (c.parent_id && c.parent_id->empty()) c.parent_id.reset();
  c.description = in.string("description", input::optional, 0, 5000);
  c.image_url = in.string("image_url", input::optional, 0, 2000);
  c.seo_title = in.string("seo_title", input::optional, 0, 255);
  c.seo_description = in.string("seo_description", input::optional, 0, 1000);
  c.seo_keywords = in.string("seo_keywords", input::optional, 0, 1000);
  c.display_order = in.integer("display_order", input::optional, -1'000'000, 1'000'000);
  return c;
}

variant_input read_variant_body(input::body_reader& in, bool create) {
  variant_input v;
  v.sku = in.string("variant_sku", create ? input::required : input::optional, 1, 100);
  if (v.sku && !valid_sku(*v.sku))
    in.issue("variant_sku", "SKU may contain only letters, digits and . _ / -", "value_error.str.regex");
  v.name = in.string("variant_name", input::optional, 0, 255);
  if (const json* a = in.object("attributes", create ? input::required : input::optional)) {
    std::vector<std::pair<std::string, std::string>> attrs;
    for (auto it = a->begin(); it != a->end(); ++it) {
      if (it.value().is_string()) attrs.emplace_back(it.key(), it.value().get<std::string>());
      else if (it.value().is_number()) attrs.emplace_back(it.key(), it.value().dump());
      else in.issue(std::vector<std::string>{"body", "attributes", it.key()}, "str type expected", "type_error.str");
    }
    v.attributes = std::move(attrs);
  }
  v.price = in.amount("price", input::optional);
  v.compare_at_price = nullable_amount(in, "compare_at_price");
  v.cost = nullable_amount(in, "cost");
  v.is_master = in.boolean("is_master", input::optional);
  v.sort_order = in.integer("sort_order", input::optional, -1'000'000, 1'000'000);
  if (auto w = in.number("weight", input::optional, 0, 99999.999)) v.weight = fmt::format("{:.3f}", *w);
  return v;
}

bundle_record read_bundle_body(input::body_reader& in, const catalog& cat) {
  bundle_record b;
  if (auto s = in.string("bundle_sku", input::required, 1, 100)) {
    if (!valid_sku(*s)) in.issue("bundle_sku", "SKU may contain only letters, digits and . _ / -", "value_error.str.regex");
    b.sku = *s;
  }
  if (auto s = in.string("bundle_name", input::required, 1, 255)) b.name = *s;
  if (auto s = in.string("bundle_description", input::optional, 0, 5000)) b.description = *s;
  if (auto s = in.choice("bundle_type", input::required, {"fixed", "flexible", "custom"})) b.type = *s;
  if (auto s = in.choice("pricing_strategy", input::required, {"fixed_price", "percentage_discount", "component_sum"}))
    b.strategy = *s;
  if (auto p = in.amount("bundle_price", input::optional)) b.bundle_price = *p;
  if (auto d = in.amount("discount_percentage", input::optional, 1, 9999)) b.discount_pct_e2 = *d;
  if (auto a = in.boolean("is_active", input::optional)) b.is_active = *a;
  for (const char* key : {"valid_from", "valid_to"}) {
    if (auto s = in.string(key, input::optional, 1, 64)) {
      auto t = parse_iso(*s);
      if (!t) in.issue(key, "invalid datetime format", "value_error.datetime");
      else (std::string(key) == "valid_from" ? b.valid_from : b.valid_to) = *t;
    }
  }
  if (b.valid_from && b.valid_to && *b.valid_to <= *b.valid_from)
    in.issue("valid_to", "valid_to must be after valid_from");
  if (auto m = in.integer("max_quantity", input::optional, 1, 1'000'000)) b.max_quantity = *m;
  if (b.strategy == "fixed_price" && !b.bundle_price)
    in.issue("bundle_price", "bundle_price is required for the fixed_price strategy", "value_error.missing");
  if (b.strategy == "percentage_discount" && !b.discount_pct_e2)
    in.issue("discount_percentage", "discount_percentage is required for the percentage_discount strategy",
             "value_error.missing");
  if (const json* comps = in.array("components", input::required, 2, 100)) {
    std::set<std::string> seen;
    size_t idx = 0;
    for (const auto& c : *comps) {
      std::vector<std::string> loc{"body", "components", std::to_string(idx)};
      input::object_reader r{c, loc, in.sink()};
      bundle_component_record rec;
      rec.sort_order = static_cast<int64_t>(idx);
      if (!c.is_object()) {
        r.issue(loc, "value is not a valid dict", "type_error.dict");
        ++idx;
        continue;
      }
      auto ref = r.string("product_id", input::required, 1, 100);
      if (auto q = r.integer("quantity", input::optional, 1, 10000)) rec.quantity = *q;
      if (auto req = r.boolean("is_required", input::optional)) rec.is_required = *req;
      if (auto so = r.integer("sort_order", input::optional, -1'000'000, 1'000'000)) rec.sort_order = *so;
      if (ref) {
        // A component is a sellable product (without variants) or a variant.
        if (const auto* v = cat.variant(*ref)) {
          const auto* parent = cat.product(v->parent_id);
          if (!v->is_active || !parent || parent->deleted() || parent->status != "active")
            r.issue("product_id", "Component is not active", "value_error.inactive");
          rec.item_id = v->id;
        } else if (const auto* p = cat.product(*ref)) {
          if (p->deleted() || p->status != "active")
            r.issue("product_id", "Component is not active", "value_error.inactive");
          rec.item_id = p->id;
        } else {
          r.issue("product_id", "Component product not found", "value_error.not_found");
        }
        if (!rec.item_id.empty() && !seen.insert(rec.item_id).second)
          r.issue("product_id", "Component listed twice", "value_error.duplicate");
      }
      if (b.type == "fixed" && !rec.is_required)
        r.issue("is_required", "A fixed bundle cannot have optional components");
      b.components.push_back(std::move(rec));
      ++idx;
    }
  }
  if (const json* rules = in.array("pricing_rules", input::optional, 0, 50)) {
    size_t idx = 0;
    for (const auto& rj : *rules) {
      std::vector<std::string> loc{"body", "pricing_rules", std::to_string(idx++)};
      input::object_reader r{rj, loc, in.sink()};
      if (!rj.is_object()) {
        r.issue(loc, "value is not a valid dict", "type_error.dict");
        continue;
      }
      bundle_rule_record rule;
      auto type = r.choice("rule_type", input::optional, {"quantity_discount"});
      (void)type;
      if (auto m = r.integer("min_quantity", input::optional, 1, 1'000'000)) rule.rule.min_quantity = *m;
      if (auto dt = r.choice("discount_type", input::required, {"percentage", "fixed_amount"}))
        rule.rule.percentage = *dt == "percentage";
      if (auto dv = r.amount("discount_value", input::required, 1)) rule.rule.value = *dv;
      if (rule.rule.percentage && rule.rule.value > 10000) r.issue("discount_value", "percentage must be ≤ 100");
      if (auto pr = r.integer("priority", input::optional, -1000, 1000)) rule.rule.priority = *pr;
      if (auto a = r.boolean("is_active", input::optional)) rule.is_active = *a;
      b.rules.push_back(rule);
    }
  }
  return b;
}

}  // namespace mercato::product
