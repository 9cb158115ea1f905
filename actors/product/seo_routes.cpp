// REST for product SEO (agents/8001-product.md "REST": /products/{product_id}/seo,
// /products/{product_id}/seo/generate, /seo/generate, /seo/audit). Reads answer from the SEO model
// (stored rows, else generated on the fly); writes upsert catalog.product_seo through write_unit and
// update the SEO model and the products' slugs from the committed rows.
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "domain/json_input.hpp"
#include "http/problem.hpp"
#include "product/attribute_store.hpp"
#include "product/route_helpers.hpp"

namespace mercato::product {

using nlohmann::json;
using http::request_context;

namespace {

const std::regex& slug_pattern() {
  static const std::regex re{"^[a-z0-9]+(-[a-z0-9]+)*$"};
  return re;
}

size_t max_length(const std::string& field) {
  if (field == "meta_title") return 60;
  if (field == "meta_description") return 160;
  if (field == "url_slug") return 100;
  return 2000;
}

// Saves `rows`, then puts them into the SEO model and the products' slugs into the catalogue.
void save_rows(product_self self, request_context& ctx, std::vector<seo_record> rows, std::string conflict,
               std::function<void()> answer) {
  write_unit<std::vector<seo_record>>(
      self, [rows](pqxx::work& tx) { return save_seo(tx, rows); },
      [self, ctx, conflict, answer](db::outcome<unit_result<std::vector<seo_record>>> r) mutable {
        if (write_failed(ctx, r, conflict)) return;
        for (auto& s : *r.value->value) {
          if (const auto* p = self->state.model.product(s.product_id)) {
            product_record copy = *p;
            copy.url_slug = s.url_slug.value_or("");
            self->state.model.put_product(std::move(copy));
          }
          self->state.seo.put(std::move(s));
        }
        answer();
      });
}

void get_seo(product_self self, request_context& ctx) {
  const auto* p = live_product(self->state.model, ctx.params.get("product_id"));
  if (!p) return ctx.respond(http::error(404, "Product not found"));
  ctx.respond(input::json_response(200, seo_json(self->state.model, self->state.seo, *p, self->state.store_base_url)));
}

void put_seo(product_self self, request_context& ctx) {
  const catalog& cat = self->state.model;
  const seo_catalog& seo = self->state.seo;
  const std::string& base = self->state.store_base_url;
  const auto* p = live_product(cat, ctx.params.get("product_id"));
  if (!p) return ctx.respond(http::error(404, "Product not found"));
  input::body_reader in{ctx.request.body};
  if (!in.ok()) return ctx.respond(in.error_response());
  const seo_record* stored = seo.find(p->id);
  seo_record rec = merge_seo(stored, generate_seo(cat, *p, product_slug(seo, *p), base), false);
  std::set<std::string> overridden(rec.overridden.begin(), rec.overridden.end());
  const json& body = in.json();
  for (const auto& f : seo_text_fields()) {
    if (!body.contains(f)) continue;
    if (body[f].is_null()) {  // back to the generated value
      overridden.erase(f);
      continue;
    }
    auto v = in.string(f, input::optional, 0, max_length(f));
    if (!v) continue;
    if (f == "url_slug" && !std::regex_match(*v, slug_pattern())) {
      in.issue(f, "url_slug must match ^[a-z0-9]+(-[a-z0-9]+)*$", "value_error.str.regex");
      continue;
    }
    seo_field(rec, f) = *v;
    overridden.insert(f);
  }
  if (body.contains("schema_markup")) {
    if (body["schema_markup"].is_null()) {
      overridden.erase("schema_markup");
    } else if (const auto* s = in.object("schema_markup", input::optional)) {
      rec.schema_markup = *s;
      overridden.insert("schema_markup");
    }
  }
  if (!in.ok()) return ctx.respond(in.error_response());
  std::string slug = rec.url_slug.value_or("");
  std::string owner = seo.slug_owner(slug);
  std::string conflict = "URL slug " + slug + " is already in use";
  if (!owner.empty() && owner != p->id) return ctx.respond(http::error(409, conflict));
  // A hand-set slug moves the canonical URL unless that is set by hand too.
  if (!overridden.count("canonical_url")) rec.canonical_url = product_page_url(base, slug);
  rec.overridden.assign(overridden.begin(), overridden.end());
  std::string pid = p->id;
  save_rows(self, ctx, {rec}, conflict, [self, ctx, pid] {
    ctx.respond(input::json_response(200, seo_json(self->state.model, self->state.seo, *self->state.model.product(pid), self->state.store_base_url)));
  });
}

// `overwrite` from the query (?overwrite=true) or the JSON body.
std::optional<bool> read_overwrite(request_context& ctx, http_response& error) {
  input::query_reader q{ctx.request};
  auto from_query = q.boolean("overwrite", input::optional);
  if (!q.ok()) {
    error = q.error_response();
    return std::nullopt;
  }
  if (from_query) return *from_query;
  input::body_reader in{ctx.request.body, true};
  auto from_body = in.boolean("overwrite", input::optional);
  if (!in.ok()) {
    error = in.error_response();
    return std::nullopt;
  }
  return from_body.value_or(false);
}

void generate_product_seo(product_self self, request_context& ctx) {
  const catalog& cat = self->state.model;
  const seo_catalog& seo = self->state.seo;
  const std::string& base = self->state.store_base_url;
  const auto* p = live_product(cat, ctx.params.get("product_id"));
  if (!p) return ctx.respond(http::error(404, "Product not found"));
  http_response error;
  auto overwrite = read_overwrite(ctx, error);
  if (!overwrite) return ctx.respond(error);
  seo_record rec = merge_seo(seo.find(p->id), generate_seo(cat, *p, product_slug(seo, *p, {}, false), base), *overwrite);
  std::string pid = p->id;
  save_rows(self, ctx, {rec}, "URL slug " + rec.url_slug.value_or("") + " is already in use", [self, ctx, pid] {
    ctx.respond(input::json_response(200, seo_json(self->state.model, self->state.seo, *self->state.model.product(pid), self->state.store_base_url)));
  });
}

// All active products: those without a stored row (every one with `overwrite`) get generated SEO;
// hand-set fields are kept (contract Rules: overridden fields are never regenerated).
void generate_all_seo(product_self self, request_context& ctx) {
  const catalog& cat = self->state.model;
  const seo_catalog& seo = self->state.seo;
  const std::string& base = self->state.store_base_url;
  http_response error;
  auto overwrite = read_overwrite(ctx, error);
  if (!overwrite) return ctx.respond(error);
  list_query lq;
  lq.limit = 1'000'000'000;
  lq.sort = "oldest";
  std::vector<seo_record> rows;
  std::set<std::string> taken;
  int64_t skipped = 0;
  for (const auto* p : cat.list(lq).page) {
    const seo_record* stored = seo.find(p->id);
    if (stored && !*overwrite) {
      ++skipped;
      continue;
    }
    seo_record rec = merge_seo(stored, generate_seo(cat, *p, product_slug(seo, *p, taken, false), base), false);
    if (rec.url_slug) taken.insert(*rec.url_slug);
    rows.push_back(std::move(rec));
  }
  int64_t generated = static_cast<int64_t>(rows.size());
  json answer{{"generated", generated}, {"skipped", skipped}};
  if (rows.empty()) return ctx.respond(input::json_response(200, answer));
  save_rows(self, ctx, std::move(rows), "A generated URL slug is already in use",
            [ctx, answer] { ctx.respond(input::json_response(200, answer)); });
}

void audit_seo(product_self self, request_context& ctx) {
  ctx.respond(input::json_response(200, seo_audit(self->state.model, self->state.seo)));
}

}  // namespace

void add_seo_routes(product_self self) {
  auto& r = self->state.shell->routes();
  auto L = [self](void (*fn)(product_self, request_context&)) {
    return loaded(self, [self, fn](request_context& ctx) { fn(self, ctx); });
  };
  r.add("GET", "/products/{product_id}/seo", "SEO data of a product (stored, else generated)", L(get_seo));
  r.add("PUT", "/products/{product_id}/seo", "Set SEO fields by hand (marked overridden)", L(put_seo));
  r.add("POST", "/products/{product_id}/seo/generate", "Generate a product's SEO (overwrite=false keeps overrides)",
        L(generate_product_seo));
  r.add("POST", "/seo/generate", "Generate SEO for all active products", L(generate_all_seo));
  r.add("GET", "/seo/audit", "SEO coverage audit", L(audit_seo));
}

}  // namespace mercato::product
