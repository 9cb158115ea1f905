// Product SEO generation, merging and audit (see seo.hpp).
#include "product/seo.hpp"

#include <algorithm>
#include <cmath>

#include "product/catalog_rules.hpp"

namespace mercato::product {

using nlohmann::json;

bool seo_record::is_overridden(const std::string& field) const {
  return std::find(overridden.begin(), overridden.end(), field) != overridden.end();
}

const std::vector<std::string>& seo_text_fields() {
  static const std::vector<std::string> fields{"meta_title",  "meta_description", "meta_keywords", "url_slug",
                                               "canonical_url", "og_title",       "og_description", "og_image",
                                               "twitter_card", "robots_meta"};
  return fields;
}

std::optional<std::string>& seo_field(seo_record& r, const std::string& name) {
  if (name == "meta_title") return r.meta_title;
  if (name == "meta_description") return r.meta_description;
  if (name == "meta_keywords") return r.meta_keywords;
  if (name == "url_slug") return r.url_slug;
  if (name == "canonical_url") return r.canonical_url;
  if (name == "og_title") return r.og_title;
  if (name == "og_description") return r.og_description;
  if (name == "og_image") return r.og_image;
  if (name == "twitter_card") return r.twitter_card;
  return r.robots_meta;
}

const std::optional<std::string>& seo_field(const seo_record& r, const std::string& name) {
  return seo_field(const_cast<seo_record&>(r), name);
}

std::string product_page_url(std::string_view base_url, std::string_view slug) {
  auto first = base_url.find_first_not_of(" \t\r\n");
  std::string_view base = first == std::string_view::npos ? std::string_view{} : base_url.substr(first);
  while (!base.empty() && (base.back() == '/' || base.back() == ' ' || base.back() == '\t' || base.back() == '\r' ||
                           base.back() == '\n'))
    base.remove_suffix(1);
  std::string url{base};
  url += "/products/";
  url += slug;
  return url;
}

void seo_catalog::load(std::vector<seo_record> rows) {
  rows_.clear();
  slugs_.clear();
  for (auto& r : rows) put(std::move(r));
}

const seo_record* seo_catalog::find(const std::string& product_id) const {
  auto it = rows_.find(product_id);
  return it == rows_.end() ? nullptr : &it->second;
}

std::string seo_catalog::slug_owner(const std::string& slug) const {
  auto it = slugs_.find(slug);
  return it == slugs_.end() ? std::string{} : it->second;
}

void seo_catalog::put(seo_record r) {
  auto old = rows_.find(r.product_id);
  if (old != rows_.end() && old->second.url_slug) slugs_.erase(*old->second.url_slug);
  if (r.url_slug) slugs_[*r.url_slug] = r.product_id;
  std::string id = r.product_id;
  rows_[id] = std::move(r);
}

std::string product_slug(const seo_catalog& seo, const product_record& p, const std::set<std::string>& taken,
                         bool keep_stored) {
  if (const auto* s = seo.find(p.id); keep_stored && s && s->url_slug) return *s->url_slug;
  std::string base = slugify(p.name);
  if (base.empty()) return p.id;
  auto free = [&](const std::string& s) {
    std::string owner = seo.slug_owner(s);
    return (owner.empty() || owner == p.id) && !taken.count(s);
  };
  if (free(base)) return base;
  for (int n = 2;; ++n) {
    std::string suffix = "-" + std::to_string(n);
    std::string s = base.substr(0, 100 - suffix.size()) + suffix;
    if (free(s)) return s;
  }
}

seo_record generate_seo(const catalog& cat, const product_record& p, const std::string& slug,
                        std::string_view base_url) {
  seo_record r;
  r.product_id = p.id;
  r.meta_title = seo_meta_title(p.name, p.brand, p.category);
  r.meta_description = seo_meta_description(p.description, p.name, money::format(p.price), p.brand);
  r.meta_keywords = seo_keywords(p.name, p.brand, p.category);
  r.url_slug = slug;
  r.canonical_url = product_page_url(base_url, slug);
  r.og_title = r.meta_title;
  r.og_description = r.meta_description;
  const image* img = p.primary_image();
  if (img) r.og_image = img->url;
  r.twitter_card = "summary_large_image";
  r.robots_meta = "index, follow";
  auto avail = cat.available(p.id);
  json offers{{"@type", "Offer"}, {"price", money::format(p.price)}, {"priceCurrency", p.currency}};
  if (avail) offers["availability"] = *avail > 0 ? "https://schema.org/InStock" : "https://schema.org/OutOfStock";
  json schema{{"@context", "https://schema.org"}, {"@type", "Product"}, {"name", p.name}, {"sku", p.sku},
              {"description", p.description}, {"offers", offers}};
  if (!p.brand.empty()) schema["brand"] = {{"@type", "Brand"}, {"name", p.brand}};
  if (img) schema["image"] = img->url;
  r.schema_markup = schema;
  return r;
}

seo_record merge_seo(const seo_record* stored, seo_record generated, bool overwrite) {
  if (!stored || overwrite) return generated;
  for (const auto& f : stored->overridden) {
    if (f == "schema_markup") generated.schema_markup = stored->schema_markup;
    else seo_field(generated, f) = seo_field(*stored, f);
  }
  generated.overridden = stored->overridden;
  return generated;
}

json seo_json(const catalog& cat, const seo_catalog& seo, const product_record& p, std::string_view base_url) {
  const seo_record* stored = seo.find(p.id);
  std::string slug = product_slug(seo, p);
  seo_record live = generate_seo(cat, p, slug, base_url);
  json out{{"product_id", p.id}};
  for (const auto& f : seo_text_fields()) {
    const auto& v = stored && seo_field(*stored, f) ? seo_field(*stored, f) : seo_field(live, f);
    out[f] = v ? json(*v) : json(nullptr);
  }
  if (!stored || !stored->is_overridden("canonical_url")) out["canonical_url"] = product_page_url(base_url, slug);
  // JSON-LD follows the live availability unless set by hand.
  out["schema_markup"] = stored && stored->is_overridden("schema_markup") ? stored->schema_markup : live.schema_markup;
  out["overridden"] = stored ? stored->overridden : std::vector<std::string>{};
  out["generated"] = stored == nullptr;
  if (stored) out["updated_at"] = iso(stored->updated_at);
  return out;
}

json seo_audit(const catalog& cat, const seo_catalog& seo) {
  int64_t total = 0, with_seo = 0, titles = 0, descriptions = 0, slugs = 0;
  for (const auto& [id, p] : cat.products()) {
    if (p.deleted() || p.status != "active") continue;
    ++total;
    const seo_record* s = seo.find(id);
    if (!s) continue;
    ++with_seo;
    titles += s->meta_title && !s->meta_title->empty();
    descriptions += s->meta_description && !s->meta_description->empty();
    slugs += s->url_slug && !s->url_slug->empty();
  }
  auto pct = [&](int64_t n) { return total ? std::round(n * 10000.0 / total) / 100.0 : 0.0; };
  json recommendations = json::array();
  if (pct(with_seo) < 80)
    recommendations.push_back("Low SEO coverage. Consider auto-generating SEO for products without it.");
  if (pct(descriptions) < 90)
    recommendations.push_back("Many products missing meta descriptions. This impacts search engine rankings.");
  if (pct(slugs) < 95) recommendations.push_back("Some products missing URL slugs. Generate slugs for better URLs.");
  return {{"total_products", total},
          {"products_with_seo", with_seo},
          {"seo_coverage_percentage", pct(with_seo)},
          {"meta_title_coverage", pct(titles)},
          {"meta_description_coverage", pct(descriptions)},
          {"url_slug_coverage", pct(slugs)},
          {"recommendations", recommendations},
          {"timestamp", iso(now_micros())}};
}

}  // namespace mercato::product
