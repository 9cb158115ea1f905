// The product agent's REST table (agents/8001-product.md "REST"): JSON in, the catalogue model or
// a queued write out. Reads never touch SQL; writes go through write_unit and update the model
// from the committed rows.
#include <algorithm>
#include <cmath>
#include <map>

#include <nlohmann/json.hpp>

#include "domain/json_input.hpp"
#include "domain/markup_escape.hpp"
#include "http/problem.hpp"
#include "product/product_input.hpp"
#include "product/product_runtime.hpp"
#include "product/resolve.hpp"
#include "product/route_helpers.hpp"
#include "runtime/uuid.hpp"

namespace mercato::product {

using nlohmann::json;
using http::request_context;

namespace {

json mappings_json(const catalog& cat, const product_record& p) {
  json list = json::array();
  for (const auto& l : p.categories) {
    auto c = cat.category(l.category_id);
    list.push_back({{"id", l.category_id}, {"category_id", l.category_id}, {"name", c ? c->name : ""},
                    {"is_primary", l.is_primary}});
  }
  return {{"product_id", p.id}, {"categories", list}};
}

// ---- products -------------------------------------------------------------------------------

// Required attributes are enforced when a product becomes active (contract Rules "Attributes").
// `p` is the product as it would be after the change; the issue is reported at ["body", field].
void check_required_attributes(product_self self, const product_record& p, input::object_reader& in,
                               const std::string& field = "status") {
  auto missing = self->state.attributes.missing_required(p, self->state.model, self->state.attributes.values_of(p.id));
  if (missing.empty()) return;
  std::string list;
  for (const auto& code : missing) list += (list.empty() ? "" : ", ") + code;
  in.issue(std::vector<std::string>{"body", field}, "Required attributes missing: " + list, "value_error.missing");
}

bool mapped_to(const product_record& p, const std::string& category_id) {
  return std::any_of(p.categories.begin(), p.categories.end(),
                     [&](const category_link& l) { return l.category_id == category_id; });
}

bool same_categories(const product_record& a, const product_record& b) {
  if (a.categories.size() != b.categories.size()) return false;
  for (size_t i = 0; i < a.categories.size(); ++i)
    if (a.categories[i].category_id != b.categories[i].category_id) return false;
  return true;
}

void list_products_route(product_self self, request_context& ctx) {
  input::query_reader q{ctx.request};
  list_query lq;
  int64_t limit = q.integer("limit", input::optional, 1, 1000).value_or(100);
  int64_t skip = q.integer("skip", input::optional, 0).value_or(0);
  if (auto page = q.integer("page", input::optional, 1, 1'000'000)) skip = (*page - 1) * limit;
  lq.skip = skip;
  lq.limit = limit;
  lq.category = q.string("category", input::optional, 0, 255).value_or("");
  lq.category_id = q.string("category_id", input::optional, 0, 64).value_or("");
  lq.include_subcategories = q.boolean("include_subcategories", input::optional).value_or(false);
  lq.brand = q.string("brand", input::optional, 0, 255).value_or("");
  lq.product_type = read_type_filter(q);
  std::string_view min_name = q.first_present({"min_price", "minPrice"});
  std::string_view max_name = q.first_present({"max_price", "maxPrice"});
  if (!min_name.empty()) lq.min_price = q.amount(min_name, input::optional);
  if (!max_name.empty()) lq.max_price = q.amount(max_name, input::optional);
  if (lq.min_price && lq.max_price && *lq.min_price > *lq.max_price)
    q.issue(max_name, "max_price must be greater than or equal to min_price");
  std::string_view search_name = q.first_present({"search", "query"});
  if (!search_name.empty()) lq.search = q.string(search_name, input::optional, 0, 200).value_or("");
  if (auto st = q.choice("status", input::optional, {"draft", "active", "archived", "all"})) {
    if (*st == "all") lq.status.reset();
    else lq.status = *st;
  }
  std::string sort = lq.search.empty() ? "newest" : "relevance";
  if (auto s = q.choice("sort", input::optional, {"popular", "newest", "price_asc", "price_desc", "name"}))
    sort = *s;
  if (auto by = q.choice("sortBy", input::optional, {"name", "price", "updatedAt", "createdAt"})) {
    bool desc = q.choice("sortDirection", input::optional, {"asc", "desc"}, true).value_or("asc") == "desc";
    if (*by == "name") sort = desc ? "name_desc" : "name";
    else if (*by == "price") sort = desc ? "price_desc" : "price_asc";
    else if (*by == "updatedAt") sort = desc ? "updated" : "updated_asc";
    else sort = desc ? "newest" : "oldest";
  }
  lq.sort = sort;
  if (!q.ok()) return ctx.respond(q.error_response());

  const catalog& cat = self->state.model;
  auto result = cat.list(lq);
  std::string body = "{\"products\":" + products_array(cat, result.page);
  int64_t pages = (result.total + limit - 1) / limit;
  body += ",\"total\":" + std::to_string(result.total) + ",\"skip\":" + std::to_string(skip) +
          ",\"limit\":" + std::to_string(limit) + ",\"totalItems\":" + std::to_string(result.total) +
          ",\"totalPages\":" + std::to_string(pages) + ",\"currentPage\":" + std::to_string(skip / limit + 1) + "}";
  ctx.respond(json_text(200, std::move(body)));
}

void search_products(product_self self, request_context& ctx) {
  input::query_reader q{ctx.request};
  auto text = q.string("q", input::required, 1, 200);
  int64_t limit = q.integer("limit", input::optional, 1, 100).value_or(20);
  if (!q.ok()) return ctx.respond(q.error_response());
  list_query lq;
  lq.search = *text;
  lq.sort = "relevance";
  lq.limit = limit;
  const catalog& cat = self->state.model;
  auto result = cat.list(lq);
  std::string body = "{\"products\":" + products_array(cat, result.page) +
                     ",\"query\":" + json(*text).dump() + ",\"count\":" + std::to_string(result.page.size()) + "}";
  ctx.respond(json_text(200, std::move(body)));
}

void get_product_route(product_self self, request_context& ctx) {
  const auto* p = self->state.model.product(ctx.params.get("product_id"));
  if (!p) return ctx.respond(http::error(404, "Product not found"));
  ctx.respond(json_text(200, self->state.model.product_json(*p)));
}

void create_product(product_self self, request_context& ctx) {
  input::body_reader in{ctx.request.body};
  auto input = read_product_body(in, body_mode::create);
  if (!in.ok()) return ctx.respond(in.error_response());
  const catalog& cat = self->state.model;
  if (cat.sku_taken(*input.sku))
    return ctx.respond(http::error(409, "Product with SKU " + *input.sku + " already exists"));
  product_record base;
  base.id = uuid_v4();
  auto record = apply_product_input(input, base, cat, in);
  if (record.status == "active") check_required_attributes(self, record, in);
  if (!in.ok()) return ctx.respond(in.error_response());
  int64_t stock = input.stock_quantity;
  std::string conflict = "Product with SKU " + record.sku + " already exists";
  write_unit<product_record>(
      self, [record, stock](pqxx::work& tx) { return insert_product(tx, record, stock); },
      [self, ctx, stock, conflict](db::outcome<unit_result<product_record>> r) mutable {
        if (write_failed(ctx, r, conflict)) return;
        std::string id = r.value->value->id;
        self->state.model.put_product(std::move(*r.value->value));
        if (stock <= 0) {
          self->state.model.set_available(id, 0);
          return ctx.respond(input::json_response(200, {{"id", id}, {"status", "created"}}));
        }
        send_initial_stock(self, id, stock, [ctx, id](bool pending) {
          json body{{"id", id}, {"status", "created"}};
          if (pending) body["stock_pending"] = true;
          ctx.respond(input::json_response(200, body));
        });
      });
}

void change_product(product_self self, request_context& ctx, body_mode mode) {
  const catalog& cat = self->state.model;
  const auto* before = live_product(cat, ctx.params.get("product_id"));
  if (!before) return ctx.respond(http::error(404, "Product not found"));
  input::body_reader in{ctx.request.body};
  auto input = read_product_body(in, mode);
  if (!in.ok()) return ctx.respond(in.error_response());
  if (input.sku && *input.sku != before->sku && cat.sku_taken(*input.sku))
    return ctx.respond(http::error(409, "Product with SKU " + *input.sku + " already exists"));
  auto after = apply_product_input(input, *before, cat, in);
  // Also when an active product changes type or categories: other attributes may now apply.
  bool scope_changed = after.product_type != before->product_type || !same_categories(*before, after);
  if (after.status == "active" && (before->status != "active" || scope_changed)) check_required_attributes(self, after, in);
  if (!in.ok()) return ctx.respond(in.error_response());
  product_record old = *before;
  std::string conflict = "Product with SKU " + after.sku + " already exists";
  write_unit<product_record>(
      self, [old, after](pqxx::work& tx) { return update_product(tx, old, after); },
      [self, ctx, mode, conflict](db::outcome<unit_result<product_record>> r) mutable {
        if (write_failed(ctx, r, conflict)) return;
        std::string id = r.value->value->id;
        self->state.model.put_product(std::move(*r.value->value));
        if (mode == body_mode::patch) {
          const auto* p = self->state.model.product(id);
          return ctx.respond(json_text(200, self->state.model.product_json(*p)));
        }
        ctx.respond(input::json_response(200, {{"id", id}, {"status", "updated"}}));
      });
}

void delete_product_route(product_self self, request_context& ctx) {
  const catalog& cat = self->state.model;
  const auto* p = live_product(cat, ctx.params.get("product_id"));
  if (!p) return ctx.respond(http::error(404, "Product not found"));
  bool bundled = cat.in_active_bundle(p->id);
  for (const auto* v : cat.variants_of(p->id)) bundled = bundled || cat.in_active_bundle(v->id);
  if (bundled) return ctx.respond(http::error(409, "Product is part of an active bundle"));
  product_record record = *p;
  write_unit<product_record>(
      self, [record](pqxx::work& tx) { return delete_product(tx, record); },
      [self, ctx](db::outcome<unit_result<product_record>> r) mutable {
        if (write_failed(ctx, r, "Conflict")) return;
        std::string id = r.value->value->id;
        self->state.model.put_product(std::move(*r.value->value));
        // Its variants were deactivated in the same transaction.
        for (const auto* v : self->state.model.variants_of(id)) {
          variant_record copy = *v;
          copy.is_active = false;
          self->state.model.put_variant(std::move(copy));
        }
        ctx.respond(input::json_response(200, {{"id", id}, {"status", "deleted"}}));
      });
}

void map_category_route(product_self self, request_context& ctx) {
  const catalog& cat = self->state.model;
  const auto* p = live_product(cat, ctx.params.get("product_id"));
  if (!p) return ctx.respond(http::error(404, "Product not found"));
  input::body_reader in{ctx.request.body};
  auto category_id = in.string("category_id", input::required, 1, 64);
  bool primary = in.boolean("is_primary", input::optional).value_or(false);
  if (category_id && !cat.category(*category_id)) in.issue("category_id", "Category not found", "value_error.not_found");
  if (!in.ok()) return ctx.respond(in.error_response());
  std::string pid = p->id, cid = *category_id;
  // A new category widens an active product's scope (as with PUT/PATCH): attributes scoped to it
  // or its ancestors must have values. Only is_primary changing leaves the scope as it is.
  if (p->status == "active" && !mapped_to(*p, cid)) {
    product_record after = *p;
    after.categories.push_back({cid, primary});
    check_required_attributes(self, after, in, "category_id");
    if (!in.ok()) return ctx.respond(in.error_response());
  }
  write_unit<product_record>(
      self, [pid, cid, primary](pqxx::work& tx) { return map_category(tx, pid, cid, primary); },
      [self, ctx](db::outcome<unit_result<product_record>> r) mutable {
        if (write_failed(ctx, r, "Conflict")) return;
        std::string id = r.value->value->id;
        self->state.model.put_product(std::move(*r.value->value));
        ctx.respond(input::json_response(200, mappings_json(self->state.model, *self->state.model.product(id))));
      });
}

void unmap_category_route(product_self self, request_context& ctx) {
  const catalog& cat = self->state.model;
  const auto* p = live_product(cat, ctx.params.get("product_id"));
  if (!p) return ctx.respond(http::error(404, "Product not found"));
  std::string pid = p->id, cid = ctx.params.get("category_id");
  if (!mapped_to(*p, cid)) return ctx.respond(http::error(404, "Category mapping not found"));
  // No required-attribute check: applicability depends on the set of categories (not on which is
  // primary) and the type, which stays; fewer categories only make fewer definitions apply.
  write_unit<product_record>(
      self, [pid, cid](pqxx::work& tx) { return unmap_category(tx, pid, cid); },
      [self, ctx](db::outcome<unit_result<product_record>> r) mutable {
        if (write_failed(ctx, r, "Conflict")) return;
        std::string id = r.value->value->id;
        self->state.model.put_product(std::move(*r.value->value));
        ctx.respond(input::json_response(200, mappings_json(self->state.model, *self->state.model.product(id))));
      });
}

// ---- categories -----------------------------------------------------------------------------

std::vector<const category_record*> sorted_categories(const catalog& cat, bool include_inactive) {
  std::vector<const category_record*> out;
  for (const auto& [id, c] : cat.categories())
    if (include_inactive || c.is_active) out.push_back(&c);
  std::sort(out.begin(), out.end(), [](const category_record* a, const category_record* b) {
    return std::tie(a->display_order, a->name, a->id) < std::tie(b->display_order, b->name, b->id);
  });
  return out;
}

void list_categories(product_self self, request_context& ctx) {
  input::query_reader q{ctx.request};
  auto parent = q.string("parent_id", input::optional, 0, 64);
  bool inactive = q.boolean("include_inactive", input::optional).value_or(false);
  if (!q.ok()) return ctx.respond(q.error_response());
  const catalog& cat = self->state.model;
  std::string body = "{\"categories\":[";
  size_t n = 0;
  for (const auto* c : sorted_categories(cat, inactive)) {
    if (parent && c->parent_id != *parent) continue;
    if (n++) body += ',';
    body += cat.category_json(*c, false);
  }
  body += "],\"count\":" + std::to_string(n) + "}";
  ctx.respond(json_text(200, std::move(body)));
}

json tree_of(const catalog& cat, const std::vector<const category_record*>& all, const std::string& parent) {
  json out = json::array();
  for (const auto* c : all) {
    if (c->parent_id != parent) continue;
    json node = json::parse(cat.category_json(*c, false));
    node["children"] = tree_of(cat, all, c->id);
    out.push_back(std::move(node));
  }
  return out;
}

void category_tree(product_self self, request_context& ctx) {
  input::query_reader q{ctx.request};
  bool inactive = q.boolean("include_inactive", input::optional).value_or(false);
  if (!q.ok()) return ctx.respond(q.error_response());
  const catalog& cat = self->state.model;
  ctx.respond(input::json_response(200, tree_of(cat, sorted_categories(cat, inactive), "")));
}

void create_category(product_self self, request_context& ctx) {
  input::body_reader in{ctx.request.body};
  auto c = read_category_body(in, true);
  if (!in.ok()) return ctx.respond(in.error_response());
  const catalog& cat = self->state.model;
  if (cat.category_by_name(*c.name))
    return ctx.respond(http::error(409, "Category with name " + *c.name + " already exists"));
  category_record rec;
  rec.id = uuid_v4();
  rec.name = *c.name;
  if (c.parent_id) {
    const auto* parent = cat.category(*c.parent_id);
    if (!parent) in.issue("parent_id", "Parent category not found", "value_error.not_found");
    else if (parent->level >= 9) in.issue("parent_id", "Category depth cannot exceed 10 levels");
    else rec.parent_id = parent->id;
  }
  if (!in.ok()) return ctx.respond(in.error_response());
  rec.description = c.description.value_or("");
  rec.image_url = c.image_url;
  rec.display_order = c.display_order.value_or(0);
  rec.seo_title = c.seo_title ? c.seo_title : std::optional<std::string>{rec.name};
  rec.seo_description = c.seo_description ? c.seo_description : c.description;
  rec.seo_keywords = c.seo_keywords;
  std::string conflict = "Category with name " + rec.name + " already exists";
  write_unit<std::vector<category_record>>(
      self, [rec](pqxx::work& tx) { return insert_category(tx, rec); },
      [self, ctx, id = rec.id, conflict](db::outcome<unit_result<std::vector<category_record>>> r) mutable {
        if (write_failed(ctx, r, conflict)) return;
        self->state.model.put_categories(std::move(*r.value->value));
        ctx.respond(input::json_response(200, {{"id", id}, {"status", "created"}}));
      });
}

void get_category(product_self self, request_context& ctx) {
  const auto* c = self->state.model.category(ctx.params.get("category_id"));
  if (!c) return ctx.respond(http::error(404, "Category not found"));
  ctx.respond(json_text(200, self->state.model.category_json(*c, true)));
}

void write_category(product_self self, request_context& ctx, category_record before, category_record after,
                    bool deleted) {
  std::string conflict = "Category with name " + after.name + " already exists";
  write_unit<std::vector<category_record>>(
      self, [before, after](pqxx::work& tx) { return update_category(tx, before, after); },
      [self, ctx, id = after.id, name = after.name, renamed = before.name != after.name, deleted,
       conflict](db::outcome<unit_result<std::vector<category_record>>> r) mutable {
        if (write_failed(ctx, r, conflict)) return;
        self->state.model.put_categories(std::move(*r.value->value));
        if (renamed) self->state.model.apply_category_rename(id, name);
        if (deleted) return ctx.respond(input::json_response(200, {{"id", id}, {"status", "deleted"}}));
        ctx.respond(json_text(200, self->state.model.category_json(*self->state.model.category(id), true)));
      });
}

void update_category_route(product_self self, request_context& ctx) {
  const catalog& cat = self->state.model;
  const auto* current = cat.category(ctx.params.get("category_id"));
  if (!current) return ctx.respond(http::error(404, "Category not found"));
  input::body_reader in{ctx.request.body};
  auto c = read_category_body(in, false);
  if (!in.ok()) return ctx.respond(in.error_response());
  category_record after = *current;
  if (c.name) {
    const auto* other = cat.category_by_name(*c.name);
    if (other && other->id != current->id)
      return ctx.respond(http::error(409, "Category with name " + *c.name + " already exists"));
    after.name = *c.name;
  }
  if (c.parent_given) {
    std::string parent = c.parent_id.value_or("");
    if (!parent.empty()) {
      const auto* p = cat.category(parent);
      if (!p) {
        in.issue("parent_id", "Parent category not found", "value_error.not_found");
      } else if (p->path.compare(0, current->path.size(), current->path) == 0) {
        in.issue("parent_id", "Category cannot be its own ancestor");
      }
    }
    after.parent_id = parent;
  }
  if (!in.ok()) {
    // The contract's detail for a cycle is a plain string.
    for (const auto& issue : in.issues())
      if (issue.msg == "Category cannot be its own ancestor")
        return ctx.respond(http::error(422, "Category cannot be its own ancestor"));
    return ctx.respond(in.error_response());
  }
  if (c.description) after.description = *c.description;
  if (c.image_url) after.image_url = c.image_url;
  if (c.display_order) after.display_order = *c.display_order;
  if (c.seo_title) after.seo_title = c.seo_title;
  if (c.seo_description) after.seo_description = c.seo_description;
  if (c.seo_keywords) after.seo_keywords = c.seo_keywords;
  write_category(self, ctx, *current, after, false);
}

void delete_category_route(product_self self, request_context& ctx) {
  const catalog& cat = self->state.model;
  const auto* current = cat.category(ctx.params.get("category_id"));
  if (!current || !current->is_active) return ctx.respond(http::error(404, "Category not found"));
  for (const auto& [id, c] : cat.categories())
    if (c.parent_id == current->id && c.is_active)
      return ctx.respond(http::error(409, "Category has active subcategories"));
  category_record after = *current;
  after.is_active = false;
  write_category(self, ctx, *current, after, true);
}

void category_products(product_self self, request_context& ctx) {
  const catalog& cat = self->state.model;
  const auto* c = cat.category(ctx.params.get("category_id"));
  if (!c) return ctx.respond(http::error(404, "Category not found"));
  input::query_reader q{ctx.request};
  list_query lq;
  lq.category_id = c->id;
  lq.include_subcategories = q.boolean("include_subcategories", input::optional).value_or(false);
  auto w = input::read_window(q);
  if (!q.ok()) return ctx.respond(q.error_response());
  lq.skip = w.skip;
  lq.limit = w.limit;
  auto result = cat.list(lq);
  ctx.respond(json_text(200, "{\"products\":" + products_array(cat, result.page) +
                                 ",\"total\":" + std::to_string(result.total) + "}"));
}

// ---- variants -------------------------------------------------------------------------------

json variant_attribute_json(const variant_attribute_record& a) {
  return {{"attribute_id", a.id}, {"id", a.id}, {"name", a.name}, {"type", a.type},
          {"display_order", a.display_order}, {"is_required", a.is_required}, {"is_visible", a.is_visible}};
}

void list_variant_attributes(product_self self, request_context& ctx) {
  json out = json::array();
  for (const auto& a : self->state.model.variant_attributes()) out.push_back(variant_attribute_json(a));
  ctx.respond(input::json_response(200, out));
}

void create_variant_attribute(product_self self, request_context& ctx) {
  input::body_reader in{ctx.request.body};
  variant_attribute_record a;
  a.id = uuid_v4();
  auto name = in.string("name", input::required, 1, 100);
  auto type = in.choice("type", input::required, {"text", "color", "size", "number"});
  a.display_order = in.integer("display_order", input::optional, -1'000'000, 1'000'000).value_or(0);
  a.is_required = in.boolean("is_required", input::optional).value_or(false);
  a.is_visible = in.boolean("is_visible", input::optional).value_or(true);
  if (!in.ok()) return ctx.respond(in.error_response());
  a.name = *name;
  a.type = *type;
  for (const auto& x : self->state.model.variant_attributes())
    if (lower(x.name) == lower(a.name))
      return ctx.respond(http::error(409, "Variant attribute " + a.name + " already exists"));
  write_unit<variant_attribute_record>(
      self, [a](pqxx::work& tx) { return insert_variant_attribute(tx, a); },
      [self, ctx, name = a.name](db::outcome<unit_result<variant_attribute_record>> r) mutable {
        if (write_failed(ctx, r, "Variant attribute " + name + " already exists")) return;
        self->state.model.put_variant_attribute(*r.value->value);
        ctx.respond(input::json_response(201, variant_attribute_json(*r.value->value)));
      });
}

// Checks a variant's attributes (known, required present, unique combination); issues go to `in`.
// Returns false (after answering 409) on a duplicate combination.
bool check_variant_attributes(const catalog& cat, input::body_reader& in, const request_context& ctx,
                              const std::string& product_id, const std::string& self_id,
                              std::vector<std::pair<std::string, std::string>>& attrs) {
  std::vector<std::pair<std::string, std::string>> canonical;
  for (const auto& [name, value] : attrs) {
    const variant_attribute_record* def = nullptr;
    for (const auto& a : cat.variant_attributes())
      if (lower(a.name) == lower(name)) def = &a;
    if (!def) {
      in.issue(std::vector<std::string>{"body", "attributes", name}, "Unknown variant attribute: " + name,
               "value_error.not_found");
      continue;
    }
    canonical.emplace_back(def->name, value);
  }
  for (const auto& a : cat.variant_attributes()) {
    if (!a.is_required) continue;
    bool present = std::any_of(canonical.begin(), canonical.end(), [&](const auto& kv) { return kv.first == a.name; });
    if (!present)
      in.issue(std::vector<std::string>{"body", "attributes", a.name}, "Required variant attribute missing: " + a.name,
               "value_error.missing");
  }
  if (!in.ok()) return true;
  attrs = canonical;
  std::string key = attribute_key(attrs);
  for (const auto* v : cat.variants_of(product_id))
    if (v->id != self_id && attribute_key(v->attributes) == key) {
      ctx.respond(http::error(409, "A variant with these attribute values already exists"));
      return false;
    }
  return true;
}

void list_variants(product_self self, request_context& ctx) {
  const catalog& cat = self->state.model;
  const auto* p = cat.product(ctx.params.get("product_id"));
  if (!p) return ctx.respond(http::error(404, "Product not found"));
  input::query_reader q{ctx.request};
  bool inactive = q.boolean("include_inactive", input::optional).value_or(false);
  if (!q.ok()) return ctx.respond(q.error_response());
  std::string body = "[";
  bool first = true;
  for (const auto* v : cat.variants_of(p->id, inactive)) {
    if (!first) body += ',';
    first = false;
    body += cat.variant_json(*v);
  }
  ctx.respond(json_text(200, body + "]"));
}

void create_variant(product_self self, request_context& ctx) {
  const catalog& cat = self->state.model;
  const auto* p = live_product(cat, ctx.params.get("product_id"));
  if (!p) return ctx.respond(http::error(404, "Product not found"));
  input::body_reader in{ctx.request.body};
  auto v = read_variant_body(in, true);
  if (!in.ok()) return ctx.respond(in.error_response());
  if (cat.sku_taken(*v.sku)) return ctx.respond(http::error(409, "SKU " + *v.sku + " already exists"));
  auto attrs = *v.attributes;
  if (!check_variant_attributes(cat, in, ctx, p->id, {}, attrs)) return;
  if (!in.ok()) return ctx.respond(in.error_response());
  variant_record rec;
  rec.id = uuid_v4();
  rec.parent_id = p->id;
  rec.sku = *v.sku;
  rec.name = v.name.value_or("");
  rec.is_master = v.is_master.value_or(false);
  rec.sort_order = v.sort_order.value_or(0);
  rec.weight = v.weight;
  rec.attributes = attrs;
  variant_price price;
  price.price = v.price.value_or(p->price);
  price.compare_at_price = v.compare_at_price ? *v.compare_at_price : std::nullopt;
  price.cost = v.cost ? *v.cost : p->cost;
  price.currency = p->currency;
  rec.prices.push_back(price);
  std::string conflict = "SKU " + rec.sku + " already exists";
  write_unit<variant_record>(
      self, [rec](pqxx::work& tx) { return insert_variant(tx, rec); },
      [self, ctx, conflict](db::outcome<unit_result<variant_record>> r) mutable {
        if (!r.ok() && r.failure->code == db::errc::conflict && r.failure->message.find("combination") != std::string::npos)
          return ctx.respond(http::error(409, "A variant with these attribute values already exists"));
        if (write_failed(ctx, r, conflict)) return;
        std::string id = r.value->value->id;
        self->state.model.put_variant(std::move(*r.value->value));
        ctx.respond(json_text(201, self->state.model.variant_json(*self->state.model.variant(id))));
      });
}

void get_variant(product_self self, request_context& ctx) {
  const auto* v = self->state.model.variant(ctx.params.get("variant_id"));
  if (!v) return ctx.respond(http::error(404, "Variant not found"));
  ctx.respond(json_text(200, self->state.model.variant_json(*v, true)));
}

void respond_variant_write(product_self self, request_context ctx, variant_record rec,
                           std::function<variant_record(pqxx::work&)> work, bool history, int status = 200) {
  (void)rec;
  write_unit<variant_record>(
      self, [work](pqxx::work& tx) { return work(tx); },
      [self, ctx, history, status](db::outcome<unit_result<variant_record>> r) mutable {
        if (write_failed(ctx, r, "A variant with these attribute values already exists")) return;
        std::string id = r.value->value->id;
        self->state.model.put_variant(std::move(*r.value->value));
        ctx.respond(json_text(status, self->state.model.variant_json(*self->state.model.variant(id), history)));
      });
}

void update_variant_route(product_self self, request_context& ctx) {
  const catalog& cat = self->state.model;
  const auto* v = cat.variant(ctx.params.get("variant_id"));
  if (!v) return ctx.respond(http::error(404, "Variant not found"));
  input::body_reader in{ctx.request.body};
  auto body = read_variant_body(in, false);
  if (!in.ok()) return ctx.respond(in.error_response());
  variant_record rec = *v;
  if (body.sku && *body.sku != v->sku) in.issue("variant_sku", "variant_sku cannot be changed");
  if (body.attributes) {
    auto attrs = *body.attributes;
    if (!check_variant_attributes(cat, in, ctx, v->parent_id, v->id, attrs)) return;
    rec.attributes = attrs;
  }
  if (!in.ok()) return ctx.respond(in.error_response());
  if (body.name) rec.name = *body.name;
  if (body.is_master) rec.is_master = *body.is_master;
  if (body.sort_order) rec.sort_order = *body.sort_order;
  if (body.weight) rec.weight = body.weight;
  respond_variant_write(self, ctx, rec, [rec](pqxx::work& tx) { return update_variant(tx, rec); }, false);
}

void reprice_variant_route(product_self self, request_context& ctx) {
  const catalog& cat = self->state.model;
  const auto* v = cat.variant(ctx.params.get("variant_id"));
  if (!v) return ctx.respond(http::error(404, "Variant not found"));
  input::body_reader in{ctx.request.body};
  variant_price next;
  auto price = in.amount("price", input::required);
  auto cap = in.amount("compare_at_price", input::optional);
  auto cost = in.amount("cost", input::optional);
  next.valid_from = now_micros();
  if (auto from = in.string("valid_from", input::optional, 1, 64)) {
    auto t = parse_iso(*from);
    if (!t) in.issue("valid_from", "invalid datetime format", "value_error.datetime");
    else next.valid_from = *t;
  }
  if (!in.ok()) return ctx.respond(in.error_response());
  const auto* current = v->price_at(now_micros());
  const auto* parent = cat.product(v->parent_id);
  next.price = *price;
  next.compare_at_price = cap;
  next.cost = cost ? cost : (current ? current->cost : std::nullopt);
  next.currency = current ? current->currency : (parent ? parent->currency : "USD");
  money::cents old_price = current ? current->price : (parent ? parent->price : 0);
  variant_record rec = *v;
  respond_variant_write(self, ctx, rec,
                        [rec, next, old_price](pqxx::work& tx) { return reprice_variant(tx, rec, next, old_price); },
                        true);
}

void delete_variant_route(product_self self, request_context& ctx) {
  const catalog& cat = self->state.model;
  const auto* v = cat.variant(ctx.params.get("variant_id"));
  if (!v || !v->is_active) return ctx.respond(http::error(404, "Variant not found"));
  if (cat.in_active_bundle(v->id)) return ctx.respond(http::error(409, "Variant is part of an active bundle"));
  variant_record rec = *v;
  write_unit<variant_record>(
      self, [rec](pqxx::work& tx) { return deactivate_variant(tx, rec); },
      [self, ctx](db::outcome<unit_result<variant_record>> r) mutable {
        if (write_failed(ctx, r, "Conflict")) return;
        std::string id = r.value->value->id;
        self->state.model.put_variant(std::move(*r.value->value));
        ctx.respond(input::json_response(200, {{"variant_id", id}, {"status", "deleted"}}));
      });
}

// ---- bundles --------------------------------------------------------------------------------

void list_bundles(product_self self, request_context& ctx) {
  input::query_reader q{ctx.request};
  bool active_only = q.boolean("active_only", input::optional).value_or(true);
  if (!q.ok()) return ctx.respond(q.error_response());
  const catalog& cat = self->state.model;
  std::vector<const bundle_record*> list;
  micros now = now_micros();
  for (const auto& [id, b] : cat.bundles())
    if (!active_only || b.currently_active(now)) list.push_back(&b);
  std::sort(list.begin(), list.end(), [](const bundle_record* a, const bundle_record* b) {
    return std::tie(a->name, a->id) < std::tie(b->name, b->id);
  });
  std::string body = "[";
  for (size_t i = 0; i < list.size(); ++i) body += (i ? "," : "") + cat.bundle_json(*list[i]);
  ctx.respond(json_text(200, body + "]"));
}

void get_bundle(product_self self, request_context& ctx) {
  const auto* b = self->state.model.bundle(ctx.params.get("bundle_id"));
  if (!b) return ctx.respond(http::error(404, "Bundle not found"));
  ctx.respond(json_text(200, self->state.model.bundle_json(*b)));
}

void save_bundle(product_self self, request_context& ctx, const bundle_record* existing) {
  const catalog& cat = self->state.model;
  input::body_reader in{ctx.request.body};
  bundle_record rec = read_bundle_body(in, cat);
  if (!in.ok()) return ctx.respond(in.error_response());
  bool sku_changed = !existing || existing->sku != rec.sku;
  if (sku_changed && cat.sku_taken(rec.sku)) return ctx.respond(http::error(409, "SKU " + rec.sku + " already exists"));
  std::string conflict = "SKU " + rec.sku + " already exists";
  std::string old_sku = existing ? existing->sku : std::string{};
  rec.id = existing ? existing->id : uuid_v4();
  int status = existing ? 200 : 201;
  write_unit<bundle_record>(
      self,
      [rec, old_sku](pqxx::work& tx) { return old_sku.empty() ? insert_bundle(tx, rec) : replace_bundle(tx, rec, old_sku); },
      [self, ctx, conflict, status](db::outcome<unit_result<bundle_record>> r) mutable {
        if (write_failed(ctx, r, conflict)) return;
        std::string id = r.value->value->id;
        self->state.model.put_bundle(std::move(*r.value->value));
        ctx.respond(json_text(status, self->state.model.bundle_json(*self->state.model.bundle(id))));
      });
}

void delete_bundle_route(product_self self, request_context& ctx) {
  const auto* b = self->state.model.bundle(ctx.params.get("bundle_id"));
  if (!b || !b->is_active) return ctx.respond(http::error(404, "Bundle not found"));
  bundle_record rec = *b;
  write_unit<bundle_record>(
      self, [rec](pqxx::work& tx) { return deactivate_bundle(tx, rec); },
      [self, ctx](db::outcome<unit_result<bundle_record>> r) mutable {
        if (write_failed(ctx, r, "Conflict")) return;
        std::string id = r.value->value->id;
        self->state.model.put_bundle(std::move(*r.value->value));
        ctx.respond(input::json_response(200, {{"bundle_id", id}, {"status", "deleted"}}));
      });
}

void price_bundle_route(product_self self, request_context& ctx) {
  const catalog& cat = self->state.model;
  const auto* b = cat.bundle(ctx.params.get("bundle_id"));
  if (!b) return ctx.respond(http::error(404, "Bundle not found"));
  input::body_reader in{ctx.request.body, true};
  bundle_price m;
  m.bundle_id = b->id;
  m.selected_components = in.strings("selected_components", input::optional, 100, 100).value_or(std::vector<std::string>{});
  m.quantity = in.integer("quantity", input::optional, 1, 1'000'000).value_or(1);
  if (!in.ok()) return ctx.respond(in.error_response());
  bundle_price_calculation calc;
  if (auto f = quote_bundle(cat, m, calc)) {
    if (f->code == "max_quantity") in.issue("quantity", f->message);
    else in.issue("selected_components", f->message);
    return ctx.respond(in.error_response());
  }
  json breakdown = json::array();
  for (const auto& c : calc.components_breakdown)
    breakdown.push_back({{"product_id", c.product_id}, {"product_name", c.product_name}, {"quantity", c.quantity},
                         {"unit_price", money::to_json(c.unit_price)}, {"total", money::to_json(c.total)}});
  ctx.respond(input::json_response(
      200, {{"bundle_id", calc.bundle_id},
            {"quantity", calc.quantity},
            {"original_price", money::to_json(calc.original_price)},
            {"bundle_price", money::to_json(calc.bundle_price)},
            {"discount_amount", money::to_json(calc.discount_amount)},
            {"discount_percentage", money::to_json(calc.discount_percentage_e2)},
            {"components_breakdown", breakdown},
            {"available_quantity", calc.available_quantity >= 0 ? json(calc.available_quantity) : json(nullptr)}}));
}

// ---- analytics ------------------------------------------------------------------------------

void product_analytics(product_self self, request_context& ctx) {
  const catalog& cat = self->state.model;
  int64_t total = 0;
  money::cents sum = 0;
  std::map<std::string, int64_t> by_cat, by_brand;
  bool stock_known = true;
  int64_t low = 0, out = 0;
  for (const auto& [id, p] : cat.products()) {
    if (p.deleted() || p.status != "active") continue;
    ++total;
    sum += p.price;
    by_cat[p.category.empty() ? "Uncategorized" : p.category]++;
    by_brand[p.brand.empty() ? "Unbranded" : p.brand]++;
    auto a = cat.available(id);
    if (!a) stock_known = false;
    else if (*a <= 0) ++out;
    else if (*a <= 10) ++low;
  }
  json body{{"total_products", total},
            {"products_by_category", by_cat},
            {"products_by_brand", by_brand},
            {"average_price", money::to_json(total ? (sum * 2 + total) / (2 * total) : 0)},
            {"low_stock_count", stock_known ? json(low) : json(nullptr)},
            {"out_of_stock_count", stock_known ? json(out) : json(nullptr)},
            {"timestamp", iso(now_micros())}};
  ctx.respond(input::json_response(200, body));
}

void inventory_analytics(product_self self, request_context& ctx) {
  const catalog& cat = self->state.model;
  bool known = true;
  money::cents value = 0, cost_value = 0;
  int64_t units = 0;
  json by_cat = json::object();
  for (const auto& [id, p] : cat.products()) {
    if (p.deleted()) continue;
    auto a = cat.available(id);
    if (!a) {
      known = false;
      continue;
    }
    units += *a;
    value += p.price * *a;
    cost_value += p.cost.value_or(0) * *a;
    std::string c = p.category.empty() ? "Uncategorized" : p.category;
    if (!by_cat.contains(c)) by_cat[c] = {{"units", 0}, {"value_cents", 0}};
    by_cat[c]["units"] = by_cat[c]["units"].get<int64_t>() + *a;
    by_cat[c]["value_cents"] = by_cat[c]["value_cents"].get<int64_t>() + p.price * *a;
  }
  for (auto& [k, v] : by_cat.items()) {
    (void)k;
    v["value"] = money::to_json(v["value_cents"].get<int64_t>());
    v.erase("value_cents");
  }
  json body{{"total_inventory_value", known ? money::to_json(value) : json(nullptr)},
            {"total_cost_value", known ? money::to_json(cost_value) : json(nullptr)},
            {"total_units", known ? json(units) : json(nullptr)},
            {"inventory_by_category", known ? by_cat : json(nullptr)},
            {"timestamp", iso(now_micros())}};
  ctx.respond(input::json_response(200, body));
}

// ---- sitemap ------------------------------------------------------------------------------

void sitemap(product_self self, request_context& ctx) {
  const catalog& cat = self->state.model;
  list_query lq;
  lq.limit = 1'000'000;
  lq.sort = "name";
  auto result = cat.list(lq);
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n";
  for (const auto* p : result.page) {
    std::string slug = p->url_slug.empty() ? slugify(p->name) : p->url_slug;
    if (slug.empty()) slug = p->id;
    xml += "  <url><loc>" + markup_escape(product_page_url(self->state.store_base_url, slug)) + "</loc><lastmod>" +
           iso(p->updated_at) + "</lastmod><changefreq>weekly</changefreq><priority>0.8</priority></url>\n";
  }
  xml += "</urlset>\n";
  http_response r;
  r.content_type = "application/xml";
  r.body = std::move(xml);
  ctx.respond(std::move(r));
}

}  // namespace

void add_product_routes(product_self self) {
  auto& r = self->state.shell->routes();
  auto L = [self](void (*fn)(product_self, request_context&)) {
    return loaded(self, [self, fn](request_context& ctx) { fn(self, ctx); });
  };
  r.add("GET", "/products", "List products (filters, sort, paging)", L(list_products_route));
  r.add("GET", "/products/search", "Search products", L(search_products));
  r.add("POST", "/products", "Create a product", L(create_product));
  r.add("GET", "/products/{product_id}", "Get a product by id or SKU", L(get_product_route));
  r.add("PUT", "/products/{product_id}", "Replace a product",
        loaded(self, [self](request_context& ctx) { change_product(self, ctx, body_mode::replace); }));
  r.add("PATCH", "/products/{product_id}", "Update product fields",
        loaded(self, [self](request_context& ctx) { change_product(self, ctx, body_mode::patch); }));
  r.add("DELETE", "/products/{product_id}", "Delete a product (soft)", L(delete_product_route));
  r.add("POST", "/products/{product_id}/categories", "Map a product to a category", L(map_category_route));
  r.add("DELETE", "/products/{product_id}/categories/{category_id}", "Unmap a product from a category",
        L(unmap_category_route));
  r.add("GET", "/categories", "List categories", L(list_categories));
  r.add("GET", "/categories/tree", "Category tree", L(category_tree));
  r.add("POST", "/categories", "Create a category", L(create_category));
  r.add("GET", "/categories/{category_id}", "Get a category", L(get_category));
  r.add("PUT", "/categories/{category_id}", "Update or move a category", L(update_category_route));
  r.add("DELETE", "/categories/{category_id}", "Delete a category (soft)", L(delete_category_route));
  r.add("GET", "/categories/{category_id}/products", "Products of a category", L(category_products));
  r.add("GET", "/variant-attributes", "List variant attributes", L(list_variant_attributes));
  r.add("POST", "/variant-attributes", "Create a variant attribute", L(create_variant_attribute));
  r.add("GET", "/products/{product_id}/variants", "List a product's variants", L(list_variants));
  r.add("POST", "/products/{product_id}/variants", "Create a variant", L(create_variant));
  r.add("GET", "/variants/{variant_id}", "Get a variant", L(get_variant));
  r.add("PUT", "/variants/{variant_id}", "Update a variant", L(update_variant_route));
  r.add("PUT", "/variants/{variant_id}/price", "Change a variant's price (history kept)", L(reprice_variant_route));
  r.add("DELETE", "/variants/{variant_id}", "Deactivate a variant", L(delete_variant_route));
  r.add("GET", "/bundles", "List bundles", L(list_bundles));
  r.add("POST", "/bundles", "Create a bundle",
        loaded(self, [self](request_context& ctx) { save_bundle(self, ctx, nullptr); }));
  r.add("GET", "/bundles/{bundle_id}", "Get a bundle", L(get_bundle));
  r.add("PUT", "/bundles/{bundle_id}", "Replace a bundle", loaded(self, [self](request_context& ctx) {
          const auto* b = self->state.model.bundle(ctx.params.get("bundle_id"));
          if (!b) return ctx.respond(http::error(404, "Bundle not found"));
          save_bundle(self, ctx, b);
        }));
  r.add("DELETE", "/bundles/{bundle_id}", "Deactivate a bundle", L(delete_bundle_route));
  r.add("POST", "/bundles/{bundle_id}/price", "Price a bundle selection", L(price_bundle_route));
  r.add("GET", "/sitemap.xml", "Sitemap of active products", L(sitemap));
  r.add("GET", "/analytics/products", "Catalogue analytics", L(product_analytics));
  r.add("GET", "/analytics/inventory", "Inventory value analytics", L(inventory_analytics));
  add_attribute_routes(self);
  add_seo_routes(self);
}

}  // namespace mercato::product
