// Typed attribute rules and the attribute read model (see attributes.hpp).
#include "product/attributes.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <regex>
#include <set>

#include "product/attribute_search.hpp"
#include "product/catalog_rules.hpp"

namespace mercato::product {

using nlohmann::json;

namespace {

const std::set<std::string>& css_colors() {
  static const std::set<std::string> names{
      "aliceblue", "antiquewhite", "aqua", "aquamarine", "azure", "beige", "bisque", "black",
      "blanchedalmond", "blue", "blueviolet", "brown", "burlywood", "cadetblue", "chartreuse", "chocolate",
      "coral", "cornflowerblue", "cornsilk", "crimson", "cyan", "darkblue", "darkcyan", "darkgoldenrod",
      "darkgray", "darkgreen", "darkgrey", "darkkhaki", "darkmagenta", "darkolivegreen", "darkorange",
      "darkorchid", "darkred", "darksalmon", "darkseagreen", "darkslateblue", "darkslategray",
      "darkslategrey", "darkturquoise", "darkviolet", "deeppink", "deepskyblue", "dimgray", "dimgrey",
      "dodgerblue", "firebrick", "floralwhite", "forestgreen", "fuchsia", "gainsboro", "ghostwhite", "gold",
      "goldenrod", "gray", "green", "greenyellow", "grey", "honeydew", "hotpink", "indianred", "indigo",
      "ivory", "khaki", "lavender", "lavenderblush", "lawngreen", "lemonchiffon", "lightblue", "lightcoral",
      "lightcyan", "lightgoldenrodyellow", "lightgray", "lightgreen", "lightgrey", "lightpink",
      "lightsalmon", "lightseagreen", "lightskyblue", "lightslategray", "lightslategrey", "lightsteelblue",
      "lightyellow", "lime", "limegreen", "linen", "magenta", "maroon", "mediumaquamarine", "mediumblue",
      "mediumorchid", "mediumpurple", "mediumseagreen", "mediumslateblue", "mediumspringgreen",
      "mediumturquoise", "mediumvioletred", "midnightblue", "mintcream", "mistyrose", "moccasin",
      "navajowhite", "navy", "oldlace", "olive", "olivedrab", "orange", "orangered", "orchid",
      "palegoldenrod", "palegreen", "paleturquoise", "palevioletred", "papayawhip", "peachpuff", "peru",
      "pink", "plum", "powderblue", "purple", "rebeccapurple", "red", "rosybrown", "royalblue",
      "saddlebrown", "salmon", "sandybrown", "seagreen", "seashell", "sienna", "silver", "skyblue",
      "slateblue", "slategray", "slategrey", "snow", "springgreen", "steelblue", "tan", "teal", "thistle",
      "tomato", "turquoise", "violet", "wheat", "white", "whitesmoke", "yellow", "yellowgreen"};
  return names;
}

std::optional<double> parse_number(const json& raw) {
  if (raw.is_number()) {
    double d = raw.get<double>();
    return std::isfinite(d) ? std::optional<double>{d} : std::nullopt;
  }
  if (!raw.is_string()) return std::nullopt;
  const std::string& s = raw.get_ref<const std::string&>();
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// "YYYY-MM-DD" (optionally followed by "T…" time, which is dropped) → the date text.
std::optional<std::string> parse_date(const json& raw) {
  if (!raw.is_string()) return std::nullopt;
  const std::string& s = raw.get_ref<const std::string&>();
  if (s.size() < 10 || (s.size() > 10 && s[10] != 'T' && s[10] != ' ')) return std::nullopt;
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
  if (s[4] != '-' || s[7] != '-') return std::nullopt;
  int y = std::stoi(s.substr(0, 4)), m = std::stoi(s.substr(5, 2)), d = std::stoi(s.substr(8, 2));
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return std::nullopt;
  int max = days[m - 1] + (m == 2 && leap(y) ? 1 : 0);
  if (d > max) return std::nullopt;
  return s.substr(0, 10);
}

std::optional<bool> parse_bool(const json& raw) {
  if (raw.is_boolean()) return raw.get<bool>();
  if (raw.is_string()) {
    std::string s = lower(raw.get<std::string>());
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return std::nullopt;
}

// Rules min/max (numbers) and max_length/pattern (text).
std::string check_rules(const attribute_definition& def, const json& value) {
  const json& r = def.validation_rules;
  if (!r.is_object()) return {};
  if (value.is_number()) {
    double d = value.get<double>();
    if (r.contains("min") && r["min"].is_number() && d < r["min"].get<double>())
      return "must be greater than or equal to " + r["min"].dump();
    if (r.contains("max") && r["max"].is_number() && d > r["max"].get<double>())
      return "must be less than or equal to " + r["max"].dump();
  }
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (r.contains("max_length") && r["max_length"].is_number_integer() &&
        static_cast<int64_t>(s.size()) > r["max_length"].get<int64_t>())
      return "must have at most " + r["max_length"].dump() + " characters";
    if (r.contains("pattern") && r["pattern"].is_string()) {
      try {
        if (!std::regex_search(s, std::regex(r["pattern"].get<std::string>(), std::regex::ECMAScript)))
          return "does not match the pattern " + r["pattern"].get<std::string>();
      } catch (const std::regex_error&) {
        return {};  // the pattern was checked when the definition was saved
      }
    }
  }
  return {};
}

// A scalar filter operand of the type (strings lower-cased for comparison).
std::optional<json> filter_scalar(const std::string& type, const json& raw) {
  if (type == "number" || type == "dimension") {
    auto d = parse_number(raw);
    return d ? std::optional<json>{json(*d)} : std::nullopt;
  }
  if (type == "date") {
    auto d = parse_date(raw);
    return d ? std::optional<json>{json(*d)} : std::nullopt;
  }
  if (type == "boolean") {
    auto b = parse_bool(raw);
    return b ? std::optional<json>{json(*b)} : std::nullopt;
  }
  if (raw.is_string()) return json(lower(raw.get<std::string>()));
  return std::nullopt;
}

json comparable(const json& stored) { return stored.is_string() ? json(lower(stored.get<std::string>())) : stored; }

bool scalar_matches(const std::string& op, const json& s, const json& v) {
  if (op == "eq") return s == v;
  if (op == "ne") return s != v;
  if (op == "in") return std::find(v.begin(), v.end(), s) != v.end();
  if (op == "contains")
    return s.is_string() && v.is_string() && s.get<std::string>().find(v.get<std::string>()) != std::string::npos;
  if (op == "between") return v.size() == 2 && scalar_matches("gte", s, v[0]) && scalar_matches("lte", s, v[1]);
  if (s.type() != v.type() && !(s.is_number() && v.is_number())) return false;
  if (op == "gt") return s > v;
  if (op == "gte") return s >= v;
  if (op == "lt") return s < v;
  if (op == "lte") return s <= v;
  return false;
}

}  // namespace

std::vector<std::string> attribute_definition::option_values() const {
  std::vector<std::string> out;
  if (!options.is_array()) return out;
  for (const auto& o : options) {
    if (o.is_string()) out.push_back(o.get<std::string>());
    else if (o.is_object() && o.contains("value") && o["value"].is_string()) out.push_back(o["value"].get<std::string>());
  }
  return out;
}

bool valid_color(const std::string& text) {
  if (text.size() == 7 && text[0] == '#')
    return std::all_of(text.begin() + 1, text.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  return css_colors().count(lower(text)) > 0;
}

checked_value check_attribute_value(const attribute_definition& def, const json& raw) {
  const std::string& t = def.type;
  auto fail = [&](const std::string& why) { return checked_value{json(), "Attribute " + def.code + ": " + why}; };
  json value;
  if (t == "text") {
    if (!raw.is_string()) return fail("value is not a valid string");
    value = raw;
  } else if (t == "number") {
    auto d = parse_number(raw);
    if (!d) return fail("value is not a valid number");
    value = *d;
  } else if (t == "dimension") {
    std::optional<double> d;
    std::string unit;
    if (raw.is_object()) {
      if (raw.contains("value")) d = parse_number(raw["value"]);
      if (raw.contains("unit") && raw["unit"].is_string()) unit = raw["unit"].get<std::string>();
    } else if (raw.is_string()) {
      std::string s = raw.get<std::string>();
      auto sp = s.find(' ');
      if (sp != std::string::npos) {
        unit = s.substr(sp + 1);
        s = s.substr(0, sp);
      }
      d = parse_number(json(s));
    } else {
      d = parse_number(raw);
    }
    if (!d) return fail("value is not a valid dimension (a number in " + def.unit.value_or("the attribute's unit") + ")");
    if (!unit.empty() && unit != def.unit.value_or(""))
      return fail("unit must be " + (def.unit ? *def.unit : std::string{"omitted (no unit defined)"}));
    value = *d;
  } else if (t == "boolean") {
    auto b = parse_bool(raw);
    if (!b) return fail("value must be true or false");
    value = *b;
  } else if (t == "date") {
    auto d = parse_date(raw);
    if (!d) return fail("value is not a valid ISO 8601 date");
    value = *d;
  } else if (t == "select") {
    auto opts = def.option_values();
    if (!raw.is_string() || std::find(opts.begin(), opts.end(), raw.get<std::string>()) == opts.end())
      return fail("value must be one of the attribute's options");
    value = raw;
  } else if (t == "multiselect") {
    auto opts = def.option_values();
    json list = raw.is_string() ? json::array({raw}) : raw;
    if (!list.is_array()) return fail("value must be a list of the attribute's options");
    value = json::array();
    for (const auto& v : list) {
      if (!v.is_string() || std::find(opts.begin(), opts.end(), v.get<std::string>()) == opts.end())
        return fail("every value must be one of the attribute's options");
      if (std::find(value.begin(), value.end(), v) == value.end()) value.push_back(v);
    }
  } else if (t == "color") {
    if (!raw.is_string() || !valid_color(raw.get<std::string>()))
      return fail("value must be #RRGGBB or a CSS colour name");
    std::string c = raw.get<std::string>();
    value = c[0] == '#' ? c : lower(c);
  } else {
    return fail("unknown attribute type");
  }
  std::string why = check_rules(def, value);
  if (!why.empty()) return fail(why);
  return {value, {}};
}

bool operator_valid_for(const std::string& type, const std::string& op) {
  static const std::map<std::string, std::set<std::string>> ops{
      {"text", {"eq", "ne", "in", "contains"}},
      {"color", {"eq", "ne", "in"}},
      {"select", {"eq", "ne", "in"}},
      {"multiselect", {"eq", "ne", "in", "contains"}},
      {"boolean", {"eq", "ne"}},
      {"number", {"eq", "ne", "in", "gt", "gte", "lt", "lte", "between"}},
      {"dimension", {"eq", "ne", "in", "gt", "gte", "lt", "lte", "between"}},
      {"date", {"eq", "ne", "in", "gt", "gte", "lt", "lte", "between"}},
  };
  auto it = ops.find(type);
  return it != ops.end() && it->second.count(op) > 0;
}

std::string check_filter_value(const attribute_definition& def, const std::string& op, json& value) {
  if (op == "in" || op == "between") {
    if (!value.is_array() || value.empty() || (op == "between" && value.size() != 2))
      return op == "in" ? "value must be a non-empty list" : "value must be a list [low, high]";
    json out = json::array();
    for (const auto& v : value) {
      auto s = filter_scalar(def.type, v);
      if (!s) return "value is not valid for a " + def.type + " attribute";
      out.push_back(*s);
    }
    value = out;
    return {};
  }
  auto s = filter_scalar(def.type, value);
  if (!s) return "value is not valid for a " + def.type + " attribute";
  value = *s;
  return {};
}

bool filter_matches(const attribute_filter& f, const attribute_value* stored) {
  if (!stored || stored->is_null()) return false;
  if (stored->is_array()) {  // multiselect
    bool any = false;
    for (const auto& e : *stored) {
      json s = comparable(e);
      if (f.op == "in") any = any || std::find(f.value.begin(), f.value.end(), s) != f.value.end();
      else any = any || s == f.value;
    }
    return f.op == "ne" ? !any : any;
  }
  return scalar_matches(f.op, comparable(*stored), f.value);
}

// ---- the read model ---------------------------------------------------------------------------

void attribute_catalog::load(std::vector<attribute_definition> defs, std::vector<stored_attribute_value> values) {
  defs_.clear();
  codes_.clear();
  values_.clear();
  search_terms_.clear();
  for (auto& d : defs) put_definition(std::move(d));
  for (auto& v : values) values_[v.product_id][v.attribute_id] = std::move(v.value);
  for (const auto& [pid, vals] : values_) index_search_terms(pid);
}

const attribute_definition* attribute_catalog::find(const std::string& id_or_code) const {
  auto it = defs_.find(id_or_code);
  if (it != defs_.end()) return &it->second;
  auto c = codes_.find(id_or_code);
  if (c == codes_.end()) return nullptr;
  it = defs_.find(c->second);
  return it == defs_.end() ? nullptr : &it->second;
}

std::vector<const attribute_definition*> attribute_catalog::sorted() const {
  std::vector<const attribute_definition*> out;
  for (const auto& [id, d] : defs_) out.push_back(&d);
  std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) {
    return std::tie(a->display_order, a->code) < std::tie(b->display_order, b->code);
  });
  return out;
}

const std::map<std::string, attribute_value>* attribute_catalog::values_of(const std::string& product_id) const {
  auto it = values_.find(product_id);
  return it == values_.end() ? nullptr : &it->second;
}

const attribute_value* attribute_catalog::value(const std::string& product_id, const std::string& attribute_id) const {
  const auto* vals = values_of(product_id);
  if (!vals) return nullptr;
  auto it = vals->find(attribute_id);
  return it == vals->end() ? nullptr : &it->second;
}

bool attribute_catalog::has_values(const std::string& attribute_id) const {
  for (const auto& [pid, vals] : values_)
    if (vals.count(attribute_id)) return true;
  return false;
}

bool attribute_catalog::applies(const attribute_definition& def, const product_record& p, const catalog& cat) const {
  if (def.scope == "product_type")
    return !p.product_type.empty() &&
           std::find(def.product_types.begin(), def.product_types.end(), p.product_type) != def.product_types.end();
  if (def.scope != "category" || def.category_id.empty()) return true;
  std::string marker = "/" + def.category_id + "/";
  for (const auto& l : p.categories) {
    const auto* c = cat.category(l.category_id);
    if (c && c->path.find(marker) != std::string::npos) return true;
  }
  return false;
}

const attribute_value* attribute_catalog::applicable_value(const attribute_definition& def, const product_record& p,
                                                           const catalog& cat) const {
  const auto* v = value(p.id, def.id);
  return v && applies(def, p, cat) ? v : nullptr;
}

std::vector<const attribute_definition*> attribute_catalog::applicable(const product_record& p,
                                                                       const catalog& cat) const {
  std::vector<const attribute_definition*> out;
  for (const auto* d : sorted())
    if (applies(*d, p, cat)) out.push_back(d);
  return out;
}

double attribute_catalog::search_score(const product_record& p, const catalog& cat,
                                       const std::string& query_lower) const {
  auto it = search_terms_.find(p.id);
  if (it == search_terms_.end()) return 0.0;
  double best = 0.0;
  for (const auto& [attribute_id, terms] : it->second) {
    auto d = defs_.find(attribute_id);
    if (d == defs_.end() || !d->second.is_searchable || !applies(d->second, p, cat)) continue;
    best = std::max(best, attribute_search_score(query_lower, terms));
  }
  return best;
}

void attribute_catalog::index_search_terms(const std::string& product_id) {
  auto vals = values_.find(product_id);
  std::vector<std::pair<std::string, std::vector<std::string>>> terms;
  if (vals != values_.end()) {
    for (const auto& [attribute_id, v] : vals->second) {
      auto d = defs_.find(attribute_id);
      if (d == defs_.end() || !d->second.is_searchable) continue;
      auto t = attribute_search_terms(d->second, v);
      if (!t.empty()) terms.emplace_back(attribute_id, std::move(t));
    }
  }
  if (terms.empty()) search_terms_.erase(product_id);
  else search_terms_[product_id] = std::move(terms);
}

std::vector<std::string> attribute_catalog::missing_required(
    const product_record& p, const catalog& cat, const std::map<std::string, attribute_value>* values) const {
  std::vector<std::string> out;
  for (const auto* d : sorted()) {
    if (!d->is_required || !applies(*d, p, cat)) continue;
    if (!values || !values->count(d->id)) out.push_back(d->code);
  }
  return out;
}

json attribute_catalog::facets(const std::vector<const product_record*>& products, const catalog& cat) const {
  json out = json::array();
  for (const auto* d : sorted()) {
    if (!d->is_filterable) continue;
    bool counted = d->type == "select" || d->type == "multiselect" || d->type == "boolean" || d->type == "color";
    bool ranged = d->type == "number" || d->type == "dimension";
    if (!counted && !ranged) continue;
    std::map<std::string, std::pair<json, int64_t>> counts;  // key → (value, count)
    std::optional<double> lo, hi;
    for (const auto* p : products) {
      const auto* v = applicable_value(*d, *p, cat);
      if (!v) continue;
      if (ranged && v->is_number()) {
        double x = v->get<double>();
        lo = lo ? std::min(*lo, x) : x;
        hi = hi ? std::max(*hi, x) : x;
      } else if (counted) {
        std::vector<json> items = v->is_array() ? std::vector<json>(v->begin(), v->end()) : std::vector<json>{*v};
        for (const auto& e : items) {
          auto& slot = counts[e.dump()];
          slot.first = e;
          slot.second++;
        }
      }
    }
    json facet{{"code", d->code}, {"name", d->name}, {"type", d->type}};
    if (d->unit) facet["unit"] = *d->unit;
    if (ranged) {
      if (!lo) continue;
      facet["min"] = *lo;
      facet["max"] = *hi;
    } else {
      if (counts.empty()) continue;
      std::vector<std::pair<json, int64_t>> list;
      for (auto& [k, v] : counts) list.push_back(v);
      std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
        if (a.second != b.second) return a.second > b.second;
        return a.first.dump() < b.first.dump();
      });
      json values = json::array();
      for (const auto& [v, n] : list) values.push_back({{"value", v}, {"count", n}});
      facet["values"] = values;
    }
    out.push_back(facet);
  }
  return out;
}

void attribute_catalog::put_definition(attribute_definition def) {
  auto old = defs_.find(def.id);
  if (old != defs_.end()) codes_.erase(old->second.code);
  codes_[def.code] = def.id;
  std::string id = def.id;
  defs_[id] = std::move(def);
  // is_searchable, options (labels) or the unit may have changed what its values are found by.
  for (const auto& [pid, vals] : values_)
    if (vals.count(id)) index_search_terms(pid);
}

void attribute_catalog::remove_definition(const std::string& id) {
  auto it = defs_.find(id);
  if (it == defs_.end()) return;
  codes_.erase(it->second.code);
  defs_.erase(it);
  std::vector<std::string> touched;
  for (auto& [pid, vals] : values_)
    if (vals.erase(id)) touched.push_back(pid);
  for (const auto& pid : touched) {
    if (values_[pid].empty()) values_.erase(pid);
    index_search_terms(pid);
  }
}

void attribute_catalog::put_values(const std::string& product_id, std::map<std::string, attribute_value> values) {
  if (values.empty()) values_.erase(product_id);
  else values_[product_id] = std::move(values);
  index_search_terms(product_id);
}

json attribute_definition_json(const attribute_definition& d) {
  auto opt = [](const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); };
  return {{"attribute_id", d.id},
          {"id", d.id},
          {"attribute_code", d.code},
          {"code", d.code},
          {"name", d.name},
          {"type", d.type},
          {"scope", d.scope},
          {"category_id", d.category_id.empty() ? json(nullptr) : json(d.category_id)},
          {"product_types", d.product_types},
          {"unit", opt(d.unit)},
          {"group_name", opt(d.group_name)},
          {"options", d.options},
          {"validation_rules", d.validation_rules},
          {"default_value", opt(d.default_value)},
          {"help_text", opt(d.help_text)},
          {"is_required", d.is_required},
          {"is_filterable", d.is_filterable},
          {"is_searchable", d.is_searchable},
          {"is_comparable", d.is_comparable},
          {"is_visible", d.is_visible},
          {"display_order", d.display_order},
          {"created_at", iso(d.created_at)},
          {"updated_at", iso(d.updated_at)}};
}

}  // namespace mercato::product
