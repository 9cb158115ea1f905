// REST for typed attributes (agents/8001-product.md "REST": /attributes, /attributes/facets,
// /products/{product_id}/attributes, POST /products/filter). Reads answer from the attribute model;
// writes go through write_unit and update it from the committed rows.
#include <algorithm>
#include <regex>

#include <nlohmann/json.hpp>

#include "domain/json_input.hpp"
#include "http/problem.hpp"
#include "product/attribute_store.hpp"
#include "product/route_helpers.hpp"
#include "runtime/uuid.hpp"

namespace mercato::product {

using nlohmann::json;
using http::request_context;

namespace {

const std::regex& code_pattern() {
  static const std::regex re{"^[a-z][a-z0-9_]{0,63}$"};
  return re;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

// `product_types` (a list of type codes, or `product_type`: one code) replaces the definition's
// list; codes are trimmed, lower-cased and de-duplicated. Scope product_type needs at least one;
// other scopes keep none (like category_id outside scope category).
void read_product_types(input::body_reader& in, attribute_definition& d) {
  const json& body = in.json();
  if (body.is_object() && body.contains("product_types")) {
    if (body["product_types"].is_null()) {
      d.product_types.clear();
    } else if (const auto* list = in.array("product_types", input::optional, 0, 100)) {
      std::vector<std::string> types;
      for (size_t i = 0; i < list->size(); ++i) {
        const auto& t = (*list)[i];
        auto code = t.is_string() ? product_type_code(t.get<std::string>()) : std::nullopt;
        if (!code) {
          in.issue(std::vector<std::string>{"body", "product_types", std::to_string(i)}, product_type_rule,
                   "value_error.str.regex");
        } else if (std::find(types.begin(), types.end(), *code) == types.end()) {
          types.push_back(*code);
        }
      }
      d.product_types = std::move(types);
    }
  } else if (auto one = in.string("product_type", input::optional, 1, 64)) {
    if (auto code = product_type_code(*one)) d.product_types = {*code};
    else
      in.issue("product_type", product_type_rule, "value_error.str.regex");
  }
  if (d.scope == "product_type" && d.product_types.empty() && in.ok())
    in.issue("product_types", "product_types is required for product_type-scoped attributes", "value_error.missing");
  if (d.scope != "product_type") d.product_types.clear();
}

// A POST (base nullptr) or PUT (fields given replace the stored ones) body of a definition.
attribute_definition read_definition(input::body_reader& in, const attribute_definition* base, const catalog& cat) {
  bool create = base == nullptr;
  attribute_definition d = base ? *base : attribute_definition{};
  auto p = create ? input::required : input::optional;
  std::string_view code_key = in.first_present({"attribute_code", "code"});
  if (code_key.empty()) code_key = "attribute_code";
  if (auto code = in.string(code_key, p, 1, 64)) {
    if (!std::regex_match(*code, code_pattern()))
      in.issue(code_key, "attribute_code must match ^[a-z][a-z0-9_]{0,63}$", "value_error.str.regex");
    d.code = *code;
  }
  if (auto name = in.string("name", p, 1, 255)) d.name = *name;
  if (auto type = in.choice("type", p,
                            {"text", "number", "boolean", "select", "multiselect", "date", "color", "dimension"}))
    d.type = *type;
  if (auto scope = in.choice("scope", input::optional, {"global", "category", "product_type"})) d.scope = *scope;
  if (in.json().is_object() && in.json().contains("category_id")) {
    if (auto c = in.string("category_id", input::optional, 1, 64)) {
      if (!cat.category(*c)) in.issue("category_id", "Category not found", "value_error.not_found");
      d.category_id = *c;
    } else {
      d.category_id.clear();  // null clears
    }
  }
  if (d.scope == "category" && d.category_id.empty() && in.ok())
    in.issue("category_id", "category_id is required for category-scoped attributes", "value_error.missing");
  if (d.scope != "category") d.category_id.clear();
  read_product_types(in, d);
  for (auto [key, field] : {std::pair{"unit", &d.unit}, std::pair{"group_name", &d.group_name},
                            std::pair{"help_text", &d.help_text}})
    if (auto v = in.string(key, input::optional, 0, 1000)) *field = *v;
  if (in.json().is_object() && in.json().contains("options")) {
    if (const auto* opts = in.array("options", input::optional, 0, 1000)) {
      for (size_t i = 0; i < opts->size(); ++i) {
        const auto& o = (*opts)[i];
        bool ok = o.is_string() || (o.is_object() && o.contains("value") && o["value"].is_string());
        if (!ok)
          in.issue(std::vector<std::string>{"body", "options", std::to_string(i)},
                   "option must be a string or {value, label}", "type_error");
      }
      d.options = *opts;
    } else if (in.json()["options"].is_null()) {
      d.options = json();
    }
  }
  if ((d.type == "select" || d.type == "multiselect") && d.option_values().empty() && in.ok())
    in.issue("options", "options are required for select and multiselect attributes", "value_error.missing");
  if (in.json().is_object() && in.json().contains("validation_rules")) {
    if (const auto* rules = in.object("validation_rules", input::optional)) {
      for (const auto& [k, v] : rules->items()) {
        auto where = std::vector<std::string>{"body", "validation_rules", k};
        if ((k == "min" || k == "max") && !v.is_number()) in.issue(where, "value is not a valid number", "type_error.float");
        else if (k == "max_length" && !(v.is_number_integer() && v.get<int64_t>() >= 0))
          in.issue(where, "value is not a valid non-negative integer", "type_error.integer");
        else if (k == "pattern") {
          bool ok = v.is_string();
          if (ok) {
            try {
              std::regex re(v.get<std::string>(), std::regex::ECMAScript);
            } catch (const std::regex_error&) {
              ok = false;
            }
          }
          if (!ok) in.issue(where, "pattern is not a valid regular expression", "value_error");
        }
      }
      d.validation_rules = *rules;
    } else {
      d.validation_rules = json();
    }
  }
  for (auto [key, field] : {std::pair{"is_required", &d.is_required}, std::pair{"is_filterable", &d.is_filterable},
                            std::pair{"is_searchable", &d.is_searchable}, std::pair{"is_comparable", &d.is_comparable},
                            std::pair{"is_visible", &d.is_visible}})
    if (auto b = in.boolean(key, input::optional)) *field = *b;
  if (auto order = in.integer("display_order", input::optional, -1'000'000, 1'000'000)) d.display_order = *order;
  if (auto dv = in.string("default_value", input::optional, 0, 1000)) d.default_value = *dv;
  if (d.default_value && in.ok()) {
    auto checked = check_attribute_value(d, json(*d.default_value));
    if (!checked.error.empty()) in.issue("default_value", checked.error, "value_error");
  }
  return d;
}

// Filters: scope, category_id (definitions of that category), product_type (definitions listing
// that type), product_id (definitions that apply to that product: 404 when it is unknown),
// filterable.
void list_attributes(product_self self, request_context& ctx) {
  input::query_reader q{ctx.request};
  auto scope = q.choice("scope", input::optional, {"global", "category", "product_type"});
  auto category_id = q.string("category_id", input::optional, 0, 64);
  auto type = q.string("product_type", input::optional, 0, 64);
  auto product_id = q.string("product_id", input::optional, 1, 100);
  auto filterable = q.boolean("filterable", input::optional);
  if (!q.ok()) return ctx.respond(q.error_response());
  if (type && type->find_first_not_of(" \t") == std::string::npos) type.reset();
  const catalog& cat = self->state.model;
  const auto& attrs = self->state.attributes;
  const product_record* p = product_id ? live_product(cat, *product_id) : nullptr;
  if (product_id && !p) return ctx.respond(http::error(404, "Product not found"));
  std::string type_code = type ? product_type_code(*type).value_or(lower(*type)) : std::string{};
  json out = json::array();
  for (const auto* d : attrs.sorted()) {
    if (scope && d->scope != *scope) continue;
    if (category_id && d->category_id != *category_id) continue;
    if (type && std::find(d->product_types.begin(), d->product_types.end(), type_code) == d->product_types.end())
      continue;
    if (p && !attrs.applies(*d, *p, cat)) continue;
    if (filterable && d->is_filterable != *filterable) continue;
    out.push_back(attribute_definition_json(*d));
  }
  ctx.respond(input::json_response(200, out));
}

void get_attribute(product_self self, request_context& ctx) {
  const auto* d = self->state.attributes.find(ctx.params.get("attribute_id"));
  if (!d) return ctx.respond(http::error(404, "Attribute not found"));
  ctx.respond(input::json_response(200, attribute_definition_json(*d)));
}

void save_attribute(product_self self, request_context& ctx, const attribute_definition* existing) {
  const auto& attrs = self->state.attributes;
  input::body_reader in{ctx.request.body};
  attribute_definition d = read_definition(in, existing, self->state.model);
  if (!in.ok()) return ctx.respond(in.error_response());
  std::string conflict = "Attribute with code " + d.code + " already exists";
  if (const auto* other = attrs.find(d.code); other && (!existing || other->id != existing->id))
    return ctx.respond(http::error(409, conflict));
  if (existing && existing->type != d.type && attrs.has_values(existing->id))
    return ctx.respond(http::error(409, "Attribute type cannot be changed while products have values"));
  if (!existing) d.id = uuid_v4();
  bool create = existing == nullptr;
  write_unit<attribute_definition>(
      self, [d, create](pqxx::work& tx) { return create ? insert_attribute(tx, d) : update_attribute(tx, d); },
      [self, ctx, conflict, create](db::outcome<unit_result<attribute_definition>> r) mutable {
        if (write_failed(ctx, r, conflict)) return;
        json body = attribute_definition_json(*r.value->value);
        self->state.attributes.put_definition(std::move(*r.value->value));
        ctx.respond(input::json_response(create ? 201 : 200, body));
      });
}

void delete_attribute_route(product_self self, request_context& ctx) {
  const auto* d = self->state.attributes.find(ctx.params.get("attribute_id"));
  if (!d) return ctx.respond(http::error(404, "Attribute not found"));
  std::string id = d->id;
  write_unit<std::string>(
      self, [id](pqxx::work& tx) { return delete_attribute(tx, id); },
      [self, ctx](db::outcome<unit_result<std::string>> r) mutable {
        if (write_failed(ctx, r, "Conflict")) return;
        self->state.attributes.remove_definition(*r.value->value);
        ctx.respond(input::json_response(200, {{"attribute_id", *r.value->value}, {"status", "deleted"}}));
      });
}

// The product's values of the definitions that apply to it.
json product_attributes_json(const attribute_catalog& attrs, const catalog& cat, const product_record& p) {
  json out = json::array();
  for (const auto* d : attrs.sorted()) {
    const auto* v = attrs.applicable_value(*d, p, cat);
    if (!v) continue;
    out.push_back({{"code", d->code},
                   {"name", d->name},
                   {"type", d->type},
                   {"unit", d->unit ? json(*d->unit) : json(nullptr)},
                   {"group_name", d->group_name ? json(*d->group_name) : json(nullptr)},
                   {"value", *v}});
  }
  return out;
}

void get_product_attributes(product_self self, request_context& ctx) {
  const auto* p = live_product(self->state.model, ctx.params.get("product_id"));
  if (!p) return ctx.respond(http::error(404, "Product not found"));
  ctx.respond(input::json_response(200, product_attributes_json(self->state.attributes, self->state.model, *p)));
}

// Why `d` cannot take a value on `p` (it does not apply).
std::string not_applicable(const attribute_definition& d, const product_record& p) {
  if (d.scope == "product_type")
    return p.product_type.empty() ? "Attribute " + d.code + " applies only to products of type " + join(d.product_types) +
                                        "; this product has no product_type"
                                  : "Attribute " + d.code + " does not apply to products of type " + p.product_type;
  return "Attribute " + d.code + " does not apply to this product's category";
}

void put_product_attributes(product_self self, request_context& ctx) {
  const catalog& cat = self->state.model;
  const auto& attrs = self->state.attributes;
  const auto* p = live_product(cat, ctx.params.get("product_id"));
  if (!p) return ctx.respond(http::error(404, "Product not found"));
  input::body_reader in{ctx.request.body};
  if (!in.ok()) return ctx.respond(in.error_response());
  std::vector<std::pair<attribute_definition, attribute_value>> set;
  std::vector<attribute_definition> removed;
  for (const auto& [code, raw] : in.json().items()) {
    std::vector<std::string> where{"body", code};
    const auto* d = attrs.find(code);
    if (!d || d->code != code) {
      in.issue(where, "Unknown attribute: " + code, "value_error.not_found");
      continue;
    }
    if (raw.is_null()) {
      if (!attrs.value(p->id, d->id)) continue;
      if (d->is_required && p->status == "active" && attrs.applies(*d, *p, cat))
        in.issue(where, "Attribute " + code + " is required for active products", "value_error.missing");
      removed.push_back(*d);
      continue;
    }
    if (!attrs.applies(*d, *p, cat)) {
      in.issue(where, not_applicable(*d, *p), "value_error");
      continue;
    }
    auto checked = check_attribute_value(*d, raw);
    if (!checked.error.empty()) {
      in.issue(where, checked.error, "value_error");
      continue;
    }
    set.emplace_back(*d, checked.value);
  }
  if (!in.ok()) return ctx.respond(in.error_response());
  std::string pid = p->id;
  if (set.empty() && removed.empty())
    return ctx.respond(input::json_response(200, product_attributes_json(attrs, cat, *p)));
  write_unit<std::map<std::string, attribute_value>>(
      self, [pid, set, removed](pqxx::work& tx) { return write_product_attributes(tx, pid, set, removed); },
      [self, ctx, pid](db::outcome<unit_result<std::map<std::string, attribute_value>>> r) mutable {
        if (write_failed(ctx, r, "Conflict")) return;
        self->state.attributes.put_values(pid, std::move(*r.value->value));
        const catalog& cat = self->state.model;
        ctx.respond(input::json_response(200, product_attributes_json(self->state.attributes, cat, *cat.product(pid))));
      });
}

// Products matching the catalogue filters, in the list's default order (created_at DESC, id).
std::vector<const product_record*> base_products(const catalog& cat, std::optional<std::string> status,
                                                 const std::string& category_id, bool include_subcategories,
                                                 const std::string& product_type = {}) {
  list_query lq;
  lq.status = std::move(status);
  lq.category_id = category_id;
  lq.include_subcategories = include_subcategories;
  lq.product_type = product_type;
  lq.limit = 1'000'000'000;
  return cat.list(lq).page;
}

void filter_products(product_self self, request_context& ctx) {
  const catalog& cat = self->state.model;
  const auto& attrs = self->state.attributes;
  input::body_reader in{ctx.request.body, true};
  std::vector<attribute_filter> filters;
  if (const auto* list = in.array("filters", input::optional, 0, 50)) {
    for (size_t i = 0; i < list->size(); ++i) {
      input::object_reader f{(*list)[i], {"body", "filters", std::to_string(i)}, in.sink()};
      if (!(*list)[i].is_object()) {
        f.issue(std::vector<std::string>{"body", "filters", std::to_string(i)}, "value is not a valid dict",
                "type_error.dict");
        continue;
      }
      auto code = f.string("attribute", input::required, 1, 64);
      auto op = f.choice("operator", input::required,
                         {"eq", "ne", "in", "contains", "gt", "gte", "lt", "lte", "between"});
      if (!f.has("value")) f.issue(f.loc("value"), "field required", "value_error.missing");
      if (!code || !op || !f.has("value")) continue;
      const auto* d = attrs.find(*code);
      if (!d || d->code != *code) {
        f.issue(f.loc("attribute"), "Unknown attribute: " + *code, "value_error.not_found");
        continue;
      }
      if (!operator_valid_for(d->type, *op)) {
        f.issue(f.loc("operator"), "Operator " + *op + " is not valid for " + d->type + " attribute " + d->code,
                "value_error");
        continue;
      }
      attribute_filter af{d, *op, (*list)[i]["value"]};
      std::string why = check_filter_value(*d, *op, af.value);
      if (!why.empty()) {
        f.issue(f.loc("value"), why, "value_error");
        continue;
      }
      filters.push_back(std::move(af));
    }
  }
  auto category_id = in.string("category_id", input::optional, 1, 64);
  if (category_id && !cat.category(*category_id))
    in.issue("category_id", "Category not found", "value_error.not_found");
  bool subcategories = in.boolean("include_subcategories", input::optional).value_or(true);
  std::string type = read_type_filter(in);
  std::optional<std::string> status = std::string{"active"};
  if (auto st = in.choice("status", input::optional, {"draft", "active", "archived", "all"}))
    status = *st == "all" ? std::nullopt : std::optional<std::string>{*st};
  int64_t skip = in.integer("skip", input::optional, 0).value_or(0);
  int64_t limit = in.integer("limit", input::optional, 1, 1000).value_or(100);
  if (!in.ok()) return ctx.respond(in.error_response());

  std::vector<const product_record*> hits;
  for (const auto* p : base_products(cat, status, category_id.value_or(""), subcategories, type)) {
    bool all = std::all_of(filters.begin(), filters.end(), [&](const attribute_filter& f) {
      return filter_matches(f, attrs.applicable_value(*f.def, *p, cat));
    });
    if (all) hits.push_back(p);
  }
  std::vector<const product_record*> page;
  for (size_t i = static_cast<size_t>(skip); i < hits.size() && page.size() < static_cast<size_t>(limit); ++i)
    page.push_back(hits[i]);
  std::string body = "{\"products\":" + products_array(cat, page) + ",\"total\":" + std::to_string(hits.size()) +
                     ",\"skip\":" + std::to_string(skip) + ",\"limit\":" + std::to_string(limit) +
                     ",\"facets\":" + attrs.facets(hits, cat).dump() + "}";
  ctx.respond(json_text(200, std::move(body)));
}

void attribute_facets(product_self self, request_context& ctx) {
  input::query_reader q{ctx.request};
  auto category_id = q.string("category_id", input::optional, 0, 64).value_or("");
  bool subcategories = q.boolean("include_subcategories", input::optional).value_or(true);
  std::string type = read_type_filter(q);
  if (!q.ok()) return ctx.respond(q.error_response());
  const catalog& cat = self->state.model;
  if (!category_id.empty() && !cat.category(category_id)) return ctx.respond(input::json_response(200, json::array()));
  auto products = base_products(cat, std::string{"active"}, category_id, subcategories, type);
  ctx.respond(input::json_response(200, self->state.attributes.facets(products, cat)));
}

}  // namespace

void add_attribute_routes(product_self self) {
  auto& r = self->state.shell->routes();
  auto L = [self](void (*fn)(product_self, request_context&)) {
    return loaded(self, [self, fn](request_context& ctx) { fn(self, ctx); });
  };
  r.add("GET", "/attributes", "List attribute definitions", L(list_attributes));
  r.add("POST", "/attributes", "Create an attribute definition",
        loaded(self, [self](request_context& ctx) { save_attribute(self, ctx, nullptr); }));
  r.add("GET", "/attributes/facets", "Attribute facets over active products", L(attribute_facets));
  r.add("GET", "/attributes/{attribute_id}", "Get an attribute definition", L(get_attribute));
  r.add("PUT", "/attributes/{attribute_id}", "Update an attribute definition", loaded(self, [self](request_context& ctx) {
          const auto* d = self->state.attributes.find(ctx.params.get("attribute_id"));
          if (!d) return ctx.respond(http::error(404, "Attribute not found"));
          save_attribute(self, ctx, d);
        }));
  r.add("DELETE", "/attributes/{attribute_id}", "Delete an attribute definition and its values",
        L(delete_attribute_route));
  r.add("GET", "/products/{product_id}/attributes", "A product's attribute values", L(get_product_attributes));
  r.add("PUT", "/products/{product_id}/attributes", "Set a product's attribute values (null removes)",
        L(put_product_attributes));
  r.add("POST", "/products/filter", "Filter products by attributes (AND) with facets", L(filter_products));
}

}  // namespace mercato::product
