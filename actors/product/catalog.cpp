// The in-memory catalogue (see catalog.hpp).
#include "product/catalog.hpp"

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "runtime/clock.hpp"

namespace mercato::product {

using nlohmann::json;

std::string iso(micros t) {
  return clock::iso8601(std::chrono::system_clock::time_point{std::chrono::microseconds{t}});
}

micros now_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const image* product_record::primary_image() const {
  for (const auto& i : images)
    if (i.is_primary) return &i;
  return images.empty() ? nullptr : &images.front();
}

const category_link* product_record::primary_category() const {
  for (const auto& c : categories)
    if (c.is_primary) return &c;
  return nullptr;
}

int64_t product_record::weight_grams() const {
  double kg = 0;
  try {
    kg = std::stod(weight);
  } catch (...) {
    kg = 0;
  }
  return static_cast<int64_t>(kg * 1000.0 + 0.5);
}

const variant_price* variant_record::price_at(micros t) const {
  for (auto it = prices.rbegin(); it != prices.rend(); ++it)
    if (it->valid_from <= t && (!it->valid_to || t < *it->valid_to)) return &*it;
  return nullptr;
}

bool bundle_record::currently_active(micros now) const {
  if (!is_active) return false;
  if (valid_from && now < *valid_from) return false;
  if (valid_to && now >= *valid_to) return false;
  return true;
}

bundle_terms bundle_record::terms(micros now) const {
  bundle_terms t;
  t.type = type;
  t.strategy = strategy;
  t.bundle_price = bundle_price;
  t.discount_pct_e2 = discount_pct_e2;
  t.max_quantity = max_quantity;
  for (const auto& c : components) t.components.push_back({c.item_id, c.quantity, c.is_required});
  for (const auto& r : rules) {
    if (!r.is_active) continue;
    if (r.valid_from && now < *r.valid_from) continue;
    if (r.valid_to && now >= *r.valid_to) continue;
    t.rules.push_back(r.rule);
  }
  return t;
}

// ---- catalog --------------------------------------------------------------------------------

void catalog::load(catalog_snapshot s) {
  products_.clear();
  categories_.clear();
  variants_.clear();
  bundles_.clear();
  skus_.clear();
  cache_.clear();
  sales_.clear();
  for (auto& p : s.products) put_product(std::move(p));
  put_categories(std::move(s.categories));
  for (auto& v : s.variants) put_variant(std::move(v));
  for (auto& b : s.bundles) put_bundle(std::move(b));
  variant_attributes_ = std::move(s.variant_attributes);
  for (auto& [id, units] : s.sales_30d) sales_[id] += units;
  ++epoch_;
}

const product_record* catalog::product(const std::string& key) const {
  auto it = products_.find(key);
  if (it != products_.end()) return &it->second;
  auto s = skus_.find(key);
  if (s != skus_.end() && s->second.first == "product") {
    auto p = products_.find(s->second.second);
    if (p != products_.end()) return &p->second;
  }
  return nullptr;
}

const variant_record* catalog::variant(const std::string& key) const {
  auto it = variants_.find(key);
  if (it != variants_.end()) return &it->second;
  auto s = skus_.find(key);
  if (s != skus_.end() && s->second.first == "variant") {
    auto v = variants_.find(s->second.second);
    if (v != variants_.end()) return &v->second;
  }
  return nullptr;
}

const bundle_record* catalog::bundle(const std::string& key) const {
  auto it = bundles_.find(key);
  if (it != bundles_.end()) return &it->second;
  auto s = skus_.find(key);
  if (s != skus_.end() && s->second.first == "bundle") {
    auto b = bundles_.find(s->second.second);
    if (b != bundles_.end()) return &b->second;
  }
  return nullptr;
}

const category_record* catalog::category(const std::string& id) const {
  auto it = categories_.find(id);
  return it == categories_.end() ? nullptr : &it->second;
}

const category_record* catalog::category_by_name(const std::string& name) const {
  std::string l = lower(name);
  for (const auto& [id, c] : categories_)
    if (lower(c.name) == l) return &c;
  return nullptr;
}

std::optional<std::pair<std::string, std::string>> catalog::sku_owner(const std::string& sku) const {
  auto it = skus_.find(sku);
  if (it == skus_.end()) return std::nullopt;
  return it->second;
}

std::vector<const variant_record*> catalog::variants_of(const std::string& product_id,
                                                        bool include_inactive) const {
  std::vector<const variant_record*> out;
  for (const auto& [id, v] : variants_)
    if (v.parent_id == product_id && (include_inactive || v.is_active)) out.push_back(&v);
  std::sort(out.begin(), out.end(), [](const variant_record* a, const variant_record* b) {
    return std::tie(a->sort_order, a->sku) < std::tie(b->sort_order, b->sku);
  });
  return out;
}

std::vector<std::string> catalog::subtree(const std::string& category_id) const {
  std::vector<std::string> out;
  auto root = categories_.find(category_id);
  if (root == categories_.end()) return out;
  for (const auto& [id, c] : categories_)
    if (c.path.compare(0, root->second.path.size(), root->second.path) == 0) out.push_back(id);
  return out;
}

int64_t catalog::product_count(const std::string& category_id) const {
  int64_t n = 0;
  for (const auto& [id, p] : products_) {
    if (p.deleted()) continue;
    for (const auto& l : p.categories)
      if (l.category_id == category_id) {
        ++n;
        break;
      }
  }
  return n;
}

bool catalog::in_active_bundle(const std::string& item_id) const {
  for (const auto& [id, b] : bundles_) {
    if (!b.is_active) continue;
    for (const auto& c : b.components)
      if (c.item_id == item_id) return true;
  }
  return false;
}

list_result catalog::list(const list_query& q) const {
  std::vector<std::string> cats;
  if (!q.category_id.empty())
    cats = q.include_subcategories ? subtree(q.category_id) : std::vector<std::string>{q.category_id};
  std::string cat_lower = lower(q.category);
  std::string brand_lower = lower(q.brand);
  std::string search_lower = lower(q.search);
  std::vector<std::pair<const product_record*, double>> hits;
  hits.reserve(products_.size());
  for (const auto& [id, p] : products_) {
    if (p.deleted() && !(q.status && *q.status == "archived")) continue;
    if (q.status && p.status != *q.status) continue;
    if (q.min_price && p.price < *q.min_price) continue;
    if (q.max_price && p.price > *q.max_price) continue;
    if (!brand_lower.empty() && lower(p.brand) != brand_lower) continue;
    if (!q.product_type.empty() && p.product_type != q.product_type) continue;
    if (!cat_lower.empty()) {
      bool match = lower(p.category) == cat_lower;
      for (const auto& l : p.categories) {
        if (match) break;
        auto c = categories_.find(l.category_id);
        match = c != categories_.end() && lower(c->second.name) == cat_lower;
      }
      if (!match) continue;
    }
    if (!q.category_id.empty()) {
      bool match = false;
      for (const auto& l : p.categories)
        if (std::find(cats.begin(), cats.end(), l.category_id) != cats.end()) match = true;
      if (!match) continue;
    }
    double score = 0;
    if (!q.search.empty()) {
      score = search_score(q.search, p.name, p.sku, p.brand, p.description);
      if (score <= 0 && search_extension_) score = search_extension_->search_score(p, *this, search_lower);
      if (score <= 0) continue;
    }
    hits.emplace_back(&p, score);
  }
  // Every order ends with product id, so pages are stable.
  auto by = [&](auto key, bool desc) {
    std::sort(hits.begin(), hits.end(), [&](const auto& a, const auto& b) {
      auto ka = key(*a.first), kb = key(*b.first);
      if (ka != kb) return desc ? kb < ka : ka < kb;
      return a.first->id < b.first->id;
    });
  };
  const std::string& s = q.sort;
  if (s == "name") by([](const product_record& p) { return lower(p.name); }, false);
  else if (s == "name_desc") by([](const product_record& p) { return lower(p.name); }, true);
  else if (s == "price_asc") by([](const product_record& p) { return p.price; }, false);
  else if (s == "price_desc") by([](const product_record& p) { return p.price; }, true);
  else if (s == "updated") by([](const product_record& p) { return p.updated_at; }, true);
  else if (s == "updated_asc") by([](const product_record& p) { return p.updated_at; }, false);
  else if (s == "oldest") by([](const product_record& p) { return p.created_at; }, false);
  else if (s == "popular") {
    std::sort(hits.begin(), hits.end(), [&](const auto& a, const auto& b) {
      int64_t sa = sales(a.first->id), sb = sales(b.first->id);
      if (sa != sb) return sa > sb;
      if (a.first->name != b.first->name) return a.first->name < b.first->name;
      return a.first->id < b.first->id;
    });
  } else if (s == "relevance") {
    std::sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) {
      if (a.second != b.second) return a.second > b.second;
      if (a.first->name != b.first->name) return a.first->name < b.first->name;
      return a.first->id < b.first->id;
    });
  } else {
    by([](const product_record& p) { return p.created_at; }, true);
  }
  list_result r;
  r.total = static_cast<int64_t>(hits.size());
  for (int64_t i = q.skip; i < r.total && i < q.skip + q.limit; ++i) r.page.push_back(hits[i].first);
  return r;
}

void catalog::index_product(const product_record& p) { skus_[p.sku] = {"product", p.id}; }

void catalog::put_product(product_record p) {
  auto it = products_.find(p.id);
  if (it != products_.end()) {
    if (it->second.row_version > p.row_version) return;  // a stale re-read
    if (it->second.sku != p.sku) skus_.erase(it->second.sku);
  }
  index_product(p);
  cache_.erase(p.id);
  std::string id = p.id;
  products_[id] = std::move(p);
}

void catalog::put_categories(std::vector<category_record> all) {
  categories_.clear();
  for (auto& c : all) {
    std::string id = c.id;
    categories_[id] = std::move(c);
  }
  ++epoch_;
}

void catalog::apply_category_rename(const std::string& category_id, const std::string& name) {
  for (auto& [id, p] : products_) {
    const category_link* primary = p.primary_category();
    if (primary && primary->category_id == category_id && p.category != name) {
      p.category = name;
      ++p.row_version;
      cache_.erase(id);
    }
  }
}

void catalog::put_variant(variant_record v) {
  auto it = variants_.find(v.id);
  if (it != variants_.end() && it->second.sku != v.sku) skus_.erase(it->second.sku);
  skus_[v.sku] = {"variant", v.id};
  cache_.erase(v.parent_id);  // has_variants / variant_count
  std::string id = v.id;
  variants_[id] = std::move(v);
}

void catalog::put_variant_attribute(variant_attribute_record a) {
  for (auto& x : variant_attributes_)
    if (x.id == a.id) {
      x = std::move(a);
      return;
    }
  variant_attributes_.push_back(std::move(a));
  std::sort(variant_attributes_.begin(), variant_attributes_.end(),
            [](const auto& a, const auto& b) {
              return std::tie(a.display_order, a.name) < std::tie(b.display_order, b.name);
            });
}

void catalog::put_bundle(bundle_record b) {
  auto it = bundles_.find(b.id);
  if (it != bundles_.end() && it->second.sku != b.sku) skus_.erase(it->second.sku);
  skus_[b.sku] = {"bundle", b.id};
  std::string id = b.id;
  bundles_[id] = std::move(b);
}

void catalog::add_sales(const std::string& item_id, int64_t units) { sales_[item_id] += units; }

int64_t catalog::sales(const std::string& item_id) const {
  auto it = sales_.find(item_id);
  return it == sales_.end() ? 0 : it->second;
}

void catalog::set_available(const std::string& item_id, std::optional<int64_t> available) {
  available_[item_id] = available;
}

std::optional<int64_t> catalog::available(const std::string& item_id) const {
  auto it = available_.find(item_id);
  if (it != available_.end()) return it->second;
  // A product sold through variants: the sum of its variants when all are known.
  auto p = products_.find(item_id);
  if (p == products_.end()) return std::nullopt;
  auto vs = variants_of(item_id);
  if (vs.empty()) return std::nullopt;
  int64_t total = 0;
  for (const auto* v : vs) {
    auto a = available_.find(v->id);
    if (a == available_.end() || !a->second) return std::nullopt;
    total += *a->second;
  }
  return total;
}

std::vector<std::string> catalog::stock_item_ids() const {
  std::vector<std::string> out;
  out.reserve(products_.size() + variants_.size());
  for (const auto& [id, p] : products_)
    if (!p.deleted()) out.push_back(id);
  for (const auto& [id, v] : variants_)
    if (v.is_active) out.push_back(id);
  return out;
}

money::cents catalog::item_price(const std::string& item_id) const {
  if (auto v = variant(item_id)) {
    if (auto pr = v->price_at(now_micros())) return pr->price;
    if (auto p = product(v->parent_id)) return p->price;
    return 0;
  }
  if (auto p = product(item_id)) return p->price;
  return 0;
}

namespace {

json optional_money(const std::optional<money::cents>& c) {
  return c ? money::to_json(*c) : json(nullptr);
}

json number_text(const std::string& decimal_text) {
  try {
    return json::parse(decimal_text);
  } catch (...) {
    return json(0);
  }
}

}  // namespace

const std::string& catalog::product_json(const product_record& p) const {
  auto stock = available(p.id);
  auto& entry = cache_[p.id];
  if (entry.valid && entry.epoch == epoch_ && entry.stock == stock) return entry.text;

  json j;
  j["id"] = p.id;
  j["product_id"] = p.id;
  j["sku"] = p.sku;
  j["name"] = p.name;
  j["description"] = p.description;
  const category_link* primary = p.primary_category();
  std::string category_name = p.category;
  if (primary) {
    if (auto c = category(primary->category_id)) category_name = c->name;
  }
  j["category"] = category_name;
  j["category_id"] = primary ? json(primary->category_id) : json(nullptr);
  json cats = json::array();
  for (const auto& l : p.categories) {
    auto c = category(l.category_id);
    cats.push_back({{"id", l.category_id}, {"name", c ? c->name : ""}, {"is_primary", l.is_primary}});
  }
  j["categories"] = std::move(cats);
  j["brand"] = p.brand;
  j["product_type"] = p.product_type.empty() ? json(nullptr) : json(p.product_type);
  j["price"] = money::to_json(p.price);
  j["cost"] = optional_money(p.cost);
  j["compare_at_price"] = optional_money(p.compare_at_price);
  j["currency"] = p.currency;
  j["weight"] = number_text(p.weight);
  j["dimensions"] = p.dimensions_json.empty() ? json(nullptr) : json::parse(p.dimensions_json, nullptr, false);
  j["condition"] = p.condition;
  j["grade"] = p.grade;
  j["status"] = p.status;
  j["tags"] = p.tags;
  json imgs = json::array();
  for (const auto& i : p.images)
    imgs.push_back({{"url", i.url}, {"alt_text", i.alt_text}, {"position", i.position}, {"is_primary", i.is_primary}});
  j["images"] = std::move(imgs);
  const image* pi = p.primary_image();
  j["image_url"] = pi ? json(pi->url) : json(nullptr);
  auto vs = variants_of(p.id);
  j["has_variants"] = !vs.empty();
  j["variant_count"] = vs.size();
  j["slug"] = p.url_slug.empty() ? slugify(p.name) : p.url_slug;
  j["stock_quantity"] = stock ? json(*stock) : json(nullptr);
  j["inventory"] = {{"total", stock ? json(*stock) : json(nullptr)}};
  j["rating"] = nullptr;
  if (p.pending_initial_stock > 0) j["stock_pending"] = true;
  j["created_at"] = iso(p.created_at);
  j["updated_at"] = iso(p.updated_at);
  j["updatedAt"] = iso(p.updated_at);
  if (p.deleted_at) j["deleted_at"] = iso(*p.deleted_at);

  entry.text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  entry.epoch = epoch_;
  entry.stock = stock;
  entry.valid = true;
  return entry.text;
}

std::string catalog::variant_json(const variant_record& v, bool with_history) const {
  json j;
  j["variant_id"] = v.id;
  j["id"] = v.id;
  j["parent_product_id"] = v.parent_id;
  j["variant_sku"] = v.sku;
  j["variant_name"] = v.name;
  json attrs = json::object();
  for (const auto& [k, val] : v.attributes) attrs[k] = val;
  j["attributes"] = std::move(attrs);
  const product_record* parent = product(v.parent_id);
  const variant_price* pr = v.price_at(now_micros());
  if (pr) {
    j["price"] = money::to_json(pr->price);
    j["compare_at_price"] = optional_money(pr->compare_at_price);
    j["cost"] = optional_money(pr->cost);
    j["currency"] = pr->currency;
  } else {
    j["price"] = parent ? money::to_json(parent->price) : json(nullptr);
    j["compare_at_price"] = parent ? optional_money(parent->compare_at_price) : json(nullptr);
    j["cost"] = parent ? optional_money(parent->cost) : json(nullptr);
    j["currency"] = parent ? parent->currency : "USD";
  }
  j["is_master"] = v.is_master;
  j["is_active"] = v.is_active;
  j["sort_order"] = v.sort_order;
  j["weight"] = v.weight ? number_text(*v.weight) : json(nullptr);
  auto stock = available(v.id);
  j["stock_quantity"] = stock ? json(*stock) : json(nullptr);
  j["created_at"] = iso(v.created_at);
  j["updated_at"] = iso(v.updated_at);
  if (with_history) {
    json h = json::array();
    for (const auto& row : v.prices)
      h.push_back({{"price", money::to_json(row.price)},
                   {"compare_at_price", optional_money(row.compare_at_price)},
                   {"cost", optional_money(row.cost)},
                   {"currency", row.currency},
                   {"valid_from", iso(row.valid_from)},
                   {"valid_to", row.valid_to ? json(iso(*row.valid_to)) : json(nullptr)}});
    j["price_history"] = std::move(h);
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string catalog::category_json(const category_record& c, bool with_breadcrumb) const {
  json j;
  j["id"] = c.id;
  j["category_id"] = c.id;
  j["name"] = c.name;
  j["slug"] = c.slug;
  j["parent_id"] = c.parent_id.empty() ? json(nullptr) : json(c.parent_id);
  j["description"] = c.description;
  j["image_url"] = c.image_url ? json(*c.image_url) : json(nullptr);
  j["level"] = c.level;
  j["path"] = c.path;
  j["display_order"] = c.display_order;
  j["is_active"] = c.is_active;
  j["seo_title"] = c.seo_title ? json(*c.seo_title) : json(nullptr);
  j["seo_description"] = c.seo_description ? json(*c.seo_description) : json(nullptr);
  j["seo_keywords"] = c.seo_keywords ? json(*c.seo_keywords) : json(nullptr);
  j["product_count"] = product_count(c.id);
  j["created_at"] = iso(c.created_at);
  j["updated_at"] = iso(c.updated_at);
  if (with_breadcrumb) {
    json crumbs = json::array();
    // path is "/<root>/.../<self>/"
    size_t pos = 1;
    while (pos < c.path.size()) {
      size_t end = c.path.find('/', pos);
      if (end == std::string::npos) break;
      std::string id = c.path.substr(pos, end - pos);
      if (auto a = category(id)) crumbs.push_back({{"id", a->id}, {"name", a->name}, {"slug", a->slug}});
      pos = end + 1;
    }
    j["breadcrumb"] = std::move(crumbs);
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string catalog::bundle_json(const bundle_record& b) const {
  micros now = now_micros();
  json j;
  j["bundle_id"] = b.id;
  j["id"] = b.id;
  j["bundle_sku"] = b.sku;
  j["bundle_name"] = b.name;
  j["bundle_description"] = b.description;
  j["bundle_type"] = b.type;
  j["pricing_strategy"] = b.strategy;
  j["bundle_price"] = optional_money(b.bundle_price);
  j["discount_percentage"] = b.discount_pct_e2 ? money::to_json(*b.discount_pct_e2) : json(nullptr);
  j["is_active"] = b.is_active;
  j["is_currently_active"] = b.currently_active(now);
  j["valid_from"] = b.valid_from ? json(iso(*b.valid_from)) : json(nullptr);
  j["valid_to"] = b.valid_to ? json(iso(*b.valid_to)) : json(nullptr);
  j["max_quantity"] = b.max_quantity ? json(*b.max_quantity) : json(nullptr);
  json comps = json::array();
  for (const auto& c : b.components) {
    std::string name, sku;
    if (auto v = variant(c.item_id)) {
      name = v->name;
      sku = v->sku;
      if (auto p = product(v->parent_id)) name = p->name + " - " + v->name;
    } else if (auto p = product(c.item_id)) {
      name = p->name;
      sku = p->sku;
    }
    comps.push_back({{"product_id", c.item_id},
                     {"sku", sku},
                     {"name", name},
                     {"quantity", c.quantity},
                     {"is_required", c.is_required},
                     {"sort_order", c.sort_order},
                     {"unit_price", money::to_json(item_price(c.item_id))}});
  }
  j["components"] = std::move(comps);
  json rules = json::array();
  for (const auto& r : b.rules)
    rules.push_back({{"rule_type", "quantity_discount"},
                     {"min_quantity", r.rule.min_quantity},
                     {"discount_type", r.rule.percentage ? "percentage" : "fixed_amount"},
                     {"discount_value", money::to_json(r.rule.value)},
                     {"priority", r.rule.priority},
                     {"is_active", r.is_active}});
  j["pricing_rules"] = std::move(rules);
  bundle_quote quote;
  std::vector<std::string> none;
  if (price_bundle(b.terms(now), none, 1, [&](const std::string& id) { return item_price(id); },
                   quote) == bundle_error::none) {
    j["original_price"] = money::to_json(quote.original);
    j["calculated_price"] = money::to_json(quote.price);
  }
  auto avail = bundle_availability(b.terms(now).components,
                                   [&](const std::string& id) { return available(id); });
  j["available_quantity"] = avail ? json(*avail) : json(nullptr);
  j["created_at"] = iso(b.created_at);
  j["updated_at"] = iso(b.updated_at);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace mercato::product
