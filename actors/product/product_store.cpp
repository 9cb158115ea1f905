// SQL for the catalog schema (see product_store.hpp).
#include "product/product_store.hpp"

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "db/hot_statement.hpp"
#include "db/outbox.hpp"
#include "db/sql_array.hpp"
#include "mercato/event.hpp"

namespace mercato::product {

using nlohmann::json;

namespace {

const db::outbox& catalog_outbox() {
  static const db::outbox box{"catalog"};
  return box;
}

void publish(pqxx::work& tx, const std::string& name, const json& payload, const std::string& aggregate) {
  catalog_outbox().enqueue(tx, make_event("product", name, payload.dump(), aggregate), aggregate);
}

const char* opt(const std::optional<std::string>& s) { return s ? s->c_str() : nullptr; }
const char* nonempty(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

std::optional<std::string> money_text(const std::optional<money::cents>& c) {
  if (!c) return std::nullopt;
  return money::format(*c);
}

std::optional<money::cents> read_money(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return money::parse_decimal(f.c_str());
}

std::optional<int64_t> read_opt_int(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<int64_t>();
}

std::optional<std::string> read_opt_str(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return std::string{f.c_str()};
}

#define US(col) "(extract(epoch from " col ") * 1000000)::bigint"

void write_images(pqxx::work& tx, const product_record& p) {
  tx.exec_params("DELETE FROM catalog.product_images WHERE product_id = $1::uuid", p.id);
  int64_t i = 0;
  for (const auto& im : p.images) {
    tx.exec_params(
        "INSERT INTO catalog.product_images (image_id, product_id, url, alt_text, position, is_primary)"
        " VALUES (gen_random_uuid(), $1::uuid, $2, $3, $4, $5)",
        p.id, im.url, im.alt_text, im.position, im.is_primary);
    ++i;
  }
}

void write_categories(pqxx::work& tx, const product_record& p) {
  tx.exec_params("DELETE FROM catalog.product_categories WHERE product_id = $1::uuid", p.id);
  for (const auto& l : p.categories)
    tx.exec_params(
        "INSERT INTO catalog.product_categories (product_id, category_id, is_primary)"
        " VALUES ($1::uuid, $2::uuid, $3)",
        p.id, l.category_id, l.is_primary);
}

product_record reload_product(pqxx::work& tx, const std::string& id) {
  auto v = load_products(tx, id);
  if (v.empty()) throw refused(404, "Product not found");
  return std::move(v.front());
}

json category_name_json(const product_record& p) { return p.category; }

}  // namespace

std::string attribute_key(const std::vector<std::pair<std::string, std::string>>& attrs) {
  std::vector<std::pair<std::string, std::string>> sorted;
  for (const auto& [k, v] : attrs) sorted.emplace_back(lower(k), lower(v));
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (const auto& [k, v] : sorted) {
    if (!out.empty()) out += ';';
    out += k + "=" + v;
  }
  return out;
}

// ---- loading --------------------------------------------------------------------------------

std::vector<product_record> load_products(pqxx::work& tx, const std::string& id) {
  std::vector<product_record> out;
  std::map<std::string, size_t> index;
  auto rows = tx.exec_params(
      "SELECT p.product_id::text, p.sku, p.name, p.description, p.category, p.brand, p.price::text,"
      " p.cost::text, p.compare_at_price::text, p.currency, p.weight::text, p.dimensions::text,"
      " p.condition, p.grade, p.status, array_to_json(p.tags)::text, p.metadata::text,"
      " p.pending_initial_stock, p.row_version, " US("p.deleted_at") ", " US("p.created_at") ", "
      US("p.updated_at") ", s.url_slug, p.product_type"
      " FROM catalog.products p LEFT JOIN catalog.product_seo s ON s.product_id = p.product_id"
      " WHERE ($1::uuid IS NULL OR p.product_id = $1::uuid)",
      nonempty(id));
  out.reserve(rows.size());
  for (const auto& r : rows) {
    product_record p;
    p.id = r[0].c_str();
    p.sku = r[1].c_str();
    p.name = r[2].c_str();
    p.description = r[3].c_str();
    p.category = r[4].c_str();
    p.brand = r[5].c_str();
    p.price = money::parse_decimal(r[6].c_str()).value_or(0);
    p.cost = read_money(r[7]);
    p.compare_at_price = read_money(r[8]);
    p.currency = r[9].c_str();
    p.weight = r[10].c_str();
    if (!r[11].is_null()) p.dimensions_json = r[11].c_str();
    p.condition = r[12].c_str();
    p.grade = r[13].c_str();
    p.status = r[14].c_str();
    p.tags = json::parse(r[15].c_str()).get<std::vector<std::string>>();
    p.metadata_json = r[16].c_str();
    p.pending_initial_stock = r[17].as<int64_t>();
    p.row_version = r[18].as<int64_t>();
    p.deleted_at = read_opt_int(r[19]);
    p.created_at = r[20].as<int64_t>();
    p.updated_at = r[21].as<int64_t>();
    if (!r[22].is_null()) p.url_slug = r[22].c_str();
    if (!r[23].is_null()) p.product_type = r[23].c_str();
    index[p.id] = out.size();
    out.push_back(std::move(p));
  }
  auto images = tx.exec_params(
      "SELECT product_id::text, url, alt_text, position, is_primary FROM catalog.product_images"
      " WHERE ($1::uuid IS NULL OR product_id = $1::uuid) ORDER BY product_id, position, image_id",
      nonempty(id));
  for (const auto& r : images) {
    auto it = index.find(r[0].c_str());
    if (it == index.end()) continue;
    out[it->second].images.push_back({r[1].c_str(), r[2].c_str(), r[3].as<int64_t>(), r[4].as<bool>()});
  }
  auto links = tx.exec_params(
      "SELECT product_id::text, category_id::text, is_primary FROM catalog.product_categories"
      " WHERE ($1::uuid IS NULL OR product_id = $1::uuid) ORDER BY product_id, is_primary DESC, created_at,"
      " category_id",
      nonempty(id));
  for (const auto& r : links) {
    auto it = index.find(r[0].c_str());
    if (it == index.end()) continue;
    out[it->second].categories.push_back({r[1].c_str(), r[2].as<bool>()});
  }
  return out;
}

std::vector<category_record> load_categories(pqxx::work& tx) {
  std::vector<category_record> out;
  auto rows = tx.exec(
      "SELECT category_id::text, parent_id::text, name, slug, description, image_url, level, path,"
      " display_order, is_active, seo_title, seo_description, seo_keywords, " US("created_at") ", "
      US("updated_at") " FROM catalog.categories");
  for (const auto& r : rows) {
    category_record c;
    c.id = r[0].c_str();
    if (!r[1].is_null()) c.parent_id = r[1].c_str();
    c.name = r[2].c_str();
    c.slug = r[3].c_str();
    c.description = r[4].c_str();
    c.image_url = read_opt_str(r[5]);
    c.level = r[6].as<int64_t>();
    c.path = r[7].c_str();
    c.display_order = r[8].as<int64_t>();
    c.is_active = r[9].as<bool>();
    c.seo_title = read_opt_str(r[10]);
    c.seo_description = read_opt_str(r[11]);
    c.seo_keywords = read_opt_str(r[12]);
    c.created_at = r[13].as<int64_t>();
    c.updated_at = r[14].as<int64_t>();
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<variant_record> load_variants(pqxx::work& tx, const std::string& id) {
  std::vector<variant_record> out;
  std::map<std::string, size_t> index;
  auto rows = tx.exec_params(
      "SELECT variant_id::text, parent_product_id::text, variant_sku, variant_name, is_master, is_active,"
      " sort_order, weight::text, " US("created_at") ", " US("updated_at")
      " FROM catalog.product_variants WHERE ($1::uuid IS NULL OR variant_id = $1::uuid)",
      nonempty(id));
  for (const auto& r : rows) {
    variant_record v;
    v.id = r[0].c_str();
    v.parent_id = r[1].c_str();
    v.sku = r[2].c_str();
    v.name = r[3].c_str();
    v.is_master = r[4].as<bool>();
    v.is_active = r[5].as<bool>();
    v.sort_order = r[6].as<int64_t>();
    v.weight = read_opt_str(r[7]);
    v.created_at = r[8].as<int64_t>();
    v.updated_at = r[9].as<int64_t>();
    index[v.id] = out.size();
    out.push_back(std::move(v));
  }
  auto attrs = tx.exec_params(
      "SELECT v.variant_id::text, a.name, v.value FROM catalog.variant_attribute_values v"
      " JOIN catalog.variant_attributes a ON a.attribute_id = v.attribute_id"
      " WHERE ($1::uuid IS NULL OR v.variant_id = $1::uuid) ORDER BY a.display_order, a.name",
      nonempty(id));
  for (const auto& r : attrs) {
    auto it = index.find(r[0].c_str());
    if (it != index.end()) out[it->second].attributes.emplace_back(r[1].c_str(), r[2].c_str());
  }
  auto prices = tx.exec_params(
      "SELECT variant_id::text, price::text, compare_at_price::text, cost::text, currency, " US("valid_from")
      ", " US("valid_to") " FROM catalog.variant_pricing WHERE ($1::uuid IS NULL OR variant_id = $1::uuid)"
      " ORDER BY variant_id, valid_from, pricing_id",
      nonempty(id));
  for (const auto& r : prices) {
    auto it = index.find(r[0].c_str());
    if (it == index.end()) continue;
    variant_price p;
    p.price = money::parse_decimal(r[1].c_str()).value_or(0);
    p.compare_at_price = read_money(r[2]);
    p.cost = read_money(r[3]);
    p.currency = r[4].c_str();
    p.valid_from = r[5].as<int64_t>();
    p.valid_to = read_opt_int(r[6]);
    out[it->second].prices.push_back(p);
  }
  return out;
}

std::vector<bundle_record> load_bundles(pqxx::work& tx, const std::string& id) {
  std::vector<bundle_record> out;
  std::map<std::string, size_t> index;
  auto rows = tx.exec_params(
      "SELECT bundle_id::text, bundle_sku, bundle_name, bundle_description, bundle_type, pricing_strategy,"
      " bundle_price::text, discount_percentage::text, is_active, " US("valid_from") ", " US("valid_to")
      ", max_quantity, " US("created_at") ", " US("updated_at")
      " FROM catalog.bundles WHERE ($1::uuid IS NULL OR bundle_id = $1::uuid)",
      nonempty(id));
  for (const auto& r : rows) {
    bundle_record b;
    b.id = r[0].c_str();
    b.sku = r[1].c_str();
    b.name = r[2].c_str();
    b.description = r[3].c_str();
    b.type = r[4].c_str();
    b.strategy = r[5].c_str();
    b.bundle_price = read_money(r[6]);
    b.discount_pct_e2 = read_money(r[7]);
    b.is_active = r[8].as<bool>();
    b.valid_from = read_opt_int(r[9]);
    b.valid_to = read_opt_int(r[10]);
    b.max_quantity = read_opt_int(r[11]);
    b.created_at = r[12].as<int64_t>();
    b.updated_at = r[13].as<int64_t>();
    index[b.id] = out.size();
    out.push_back(std::move(b));
  }
  auto comps = tx.exec_params(
      "SELECT bundle_id::text, product_id::text, quantity, is_required, sort_order FROM catalog.bundle_components"
      " WHERE ($1::uuid IS NULL OR bundle_id = $1::uuid) ORDER BY bundle_id, sort_order, product_id",
      nonempty(id));
  for (const auto& r : comps) {
    auto it = index.find(r[0].c_str());
    if (it != index.end())
      out[it->second].components.push_back(
          {r[1].c_str(), r[2].as<int64_t>(), r[3].as<bool>(), r[4].as<int64_t>()});
  }
  auto rules = tx.exec_params(
      "SELECT bundle_id::text, min_quantity, discount_type, discount_value::text, priority, is_active, "
      US("valid_from") ", " US("valid_to") " FROM catalog.bundle_pricing_rules"
      " WHERE ($1::uuid IS NULL OR bundle_id = $1::uuid) ORDER BY bundle_id, priority DESC, rule_id",
      nonempty(id));
  for (const auto& r : rules) {
    auto it = index.find(r[0].c_str());
    if (it == index.end()) continue;
    bundle_rule_record rule;
    rule.rule.min_quantity = r[1].as<int64_t>();
    rule.rule.percentage = std::string{r[2].c_str()} == "percentage";
    rule.rule.value = money::parse_decimal(r[3].c_str()).value_or(0);
    rule.rule.priority = r[4].as<int64_t>();
    rule.is_active = r[5].as<bool>();
    rule.valid_from = read_opt_int(r[6]);
    rule.valid_to = read_opt_int(r[7]);
    out[it->second].rules.push_back(rule);
  }
  return out;
}

catalog_snapshot load_catalog(pqxx::work& tx) {
  catalog_snapshot s;
  s.products = load_products(tx);
  s.categories = load_categories(tx);
  s.variants = load_variants(tx);
  s.bundles = load_bundles(tx);
  for (const auto& r : tx.exec(
           "SELECT attribute_id::text, name, type, display_order, is_required, is_visible"
           " FROM catalog.variant_attributes ORDER BY display_order, name"))
    s.variant_attributes.push_back({r[0].c_str(), r[1].c_str(), r[2].c_str(), r[3].as<int64_t>(),
                                    r[4].as<bool>(), r[5].as<bool>()});
  for (const auto& r : tx.exec(
           "SELECT item_id, sum(units)::bigint FROM catalog.item_sales_daily"
           " WHERE day > current_date - 30 GROUP BY item_id"))
    s.sales_30d.emplace_back(r[0].c_str(), r[1].as<int64_t>());
  return s;
}

// ---- products -------------------------------------------------------------------------------

namespace {

void write_product_row(pqxx::work& tx, const product_record& p, bool insert, int64_t initial_stock) {
  auto cost = money_text(p.cost);
  auto cap = money_text(p.compare_at_price);
  std::string tags = db::text_array(p.tags);
  if (insert) {
    tx.exec_params(
        "INSERT INTO catalog.products (product_id, sku, name, description, category, brand, price, cost,"
        " compare_at_price, currency, weight, dimensions, condition, grade, status, tags, metadata,"
        " pending_initial_stock, product_type)"
        " VALUES ($1::uuid, $2, $3, $4, $5, $6, $7::numeric, $8::numeric, $9::numeric, $10, $11::numeric,"
        " $12::jsonb, $13, $14, $15, $16::text[], $17::jsonb, $18, $19)",
        p.id, p.sku, p.name, p.description, p.category, p.brand, money::format(p.price), opt(cost), opt(cap),
        p.currency, p.weight, nonempty(p.dimensions_json), p.condition, p.grade, p.status, tags,
        p.metadata_json, initial_stock, nonempty(p.product_type));
  } else {
    tx.exec_params(
        "UPDATE catalog.products SET sku = $2, name = $3, description = $4, category = $5, brand = $6,"
        " price = $7::numeric, cost = $8::numeric, compare_at_price = $9::numeric, currency = $10,"
        " weight = $11::numeric, dimensions = $12::jsonb, condition = $13, grade = $14, status = $15,"
        " tags = $16::text[], metadata = $17::jsonb, product_type = $18, row_version = row_version + 1,"
        " updated_at = now() WHERE product_id = $1::uuid",
        p.id, p.sku, p.name, p.description, p.category, p.brand, money::format(p.price), opt(cost), opt(cap),
        p.currency, p.weight, nonempty(p.dimensions_json), p.condition, p.grade, p.status, tags,
        p.metadata_json, nonempty(p.product_type));
  }
}

}  // namespace

product_record insert_product(pqxx::work& tx, const product_record& p, int64_t initial_stock) {
  tx.exec_params("INSERT INTO catalog.sku_registry (sku, kind, owner_id) VALUES ($1, 'product', $2::uuid)",
                 p.sku, p.id);
  write_product_row(tx, p, true, initial_stock);
  write_images(tx, p);
  write_categories(tx, p);
  publish(tx, "product_created",
          {{"product_id", p.id}, {"sku", p.sku}, {"name", p.name}, {"price", money::to_json(p.price)},
           {"category", category_name_json(p)},
           {"product_type", p.product_type.empty() ? json(nullptr) : json(p.product_type)}},
          p.id);
  return reload_product(tx, p.id);
}

product_record update_product(pqxx::work& tx, const product_record& before, const product_record& after) {
  if (before.sku != after.sku)
    tx.exec_params("UPDATE catalog.sku_registry SET sku = $2 WHERE sku = $1", before.sku, after.sku);
  write_product_row(tx, after, false, 0);
  bool images_changed = before.images.size() != after.images.size();
  for (size_t i = 0; !images_changed && i < before.images.size(); ++i)
    images_changed = before.images[i].url != after.images[i].url ||
                     before.images[i].alt_text != after.images[i].alt_text ||
                     before.images[i].is_primary != after.images[i].is_primary;
  if (images_changed) write_images(tx, after);
  bool cats_changed = before.categories.size() != after.categories.size();
  for (size_t i = 0; !cats_changed && i < before.categories.size(); ++i)
    cats_changed = before.categories[i].category_id != after.categories[i].category_id ||
                   before.categories[i].is_primary != after.categories[i].is_primary;
  if (cats_changed) write_categories(tx, after);

  json changed = json::object();
  auto diff = [&](const char* k, const json& a, const json& b) {
    if (a != b) changed[k] = b;
  };
  auto opt_m = [](const std::optional<money::cents>& c) { return c ? money::to_json(*c) : json(nullptr); };
  diff("sku", before.sku, after.sku);
  diff("name", before.name, after.name);
  diff("description", before.description, after.description);
  diff("category", before.category, after.category);
  diff("brand", before.brand, after.brand);
  auto type_json = [](const std::string& t) { return t.empty() ? json(nullptr) : json(t); };
  diff("product_type", type_json(before.product_type), type_json(after.product_type));
  diff("compare_at_price", opt_m(before.compare_at_price), opt_m(after.compare_at_price));
  diff("currency", before.currency, after.currency);
  diff("weight", before.weight, after.weight);
  diff("condition", before.condition, after.condition);
  diff("grade", before.grade, after.grade);
  diff("status", before.status, after.status);
  diff("tags", before.tags, after.tags);
  if (images_changed) changed["images"] = after.images.size();
  if (before.price != after.price) {
    changed["price"] = money::to_json(after.price);
    changed["list_price"] = money::to_json(after.price);
  }
  if (before.cost != after.cost) changed["cost"] = opt_m(after.cost);
  publish(tx, "product_updated",
          {{"product_id", after.id}, {"sku", after.sku}, {"changed", changed}}, after.id);
  if (before.price != after.price)
    publish(tx, "product_price_changed",
            {{"item_id", after.id}, {"product_id", after.id}, {"variant_id", nullptr},
             {"old_price", money::to_json(before.price)}, {"new_price", money::to_json(after.price)}},
            after.id);
  return reload_product(tx, after.id);
}

product_record delete_product(pqxx::work& tx, const product_record& p) {
  tx.exec_params(
      "UPDATE catalog.products SET status = 'archived', deleted_at = now(), row_version = row_version + 1,"
      " updated_at = now() WHERE product_id = $1::uuid AND deleted_at IS NULL",
      p.id);
  // Its variants stop selling with it.
  tx.exec_params(
      "UPDATE catalog.product_variants SET is_active = false, updated_at = now() WHERE parent_product_id = $1::uuid",
      p.id);
  publish(tx, "product_deleted", {{"product_id", p.id}, {"sku", p.sku}}, p.id);
  return reload_product(tx, p.id);
}

product_record clear_pending_stock(pqxx::work& tx, const std::string& product_id) {
  tx.exec_params(
      "UPDATE catalog.products SET pending_initial_stock = 0, row_version = row_version + 1"
      " WHERE product_id = $1::uuid",
      product_id);
  return reload_product(tx, product_id);
}

product_record map_category(pqxx::work& tx, const std::string& product_id, const std::string& category_id,
                            bool is_primary) {
  if (is_primary)
    tx.exec_params("UPDATE catalog.product_categories SET is_primary = false WHERE product_id = $1::uuid",
                   product_id);
  tx.exec_params(
      "INSERT INTO catalog.product_categories (product_id, category_id, is_primary) VALUES ($1::uuid, $2::uuid, $3)"
      " ON CONFLICT (product_id, category_id) DO UPDATE SET is_primary = EXCLUDED.is_primary",
      product_id, category_id, is_primary);
  if (is_primary)
    tx.exec_params(
        "UPDATE catalog.products p SET category = c.name FROM catalog.categories c"
        " WHERE p.product_id = $1::uuid AND c.category_id = $2::uuid",
        product_id, category_id);
  tx.exec_params(
      "UPDATE catalog.products SET row_version = row_version + 1, updated_at = now() WHERE product_id = $1::uuid",
      product_id);
  return reload_product(tx, product_id);
}

product_record unmap_category(pqxx::work& tx, const std::string& product_id, const std::string& category_id) {
  auto r = tx.exec_params(
      "DELETE FROM catalog.product_categories WHERE product_id = $1::uuid AND category_id = $2::uuid",
      product_id, category_id);
  if (r.affected_rows() == 0) throw refused(404, "Category mapping not found");
  tx.exec_params(
      "UPDATE catalog.products SET row_version = row_version + 1, updated_at = now() WHERE product_id = $1::uuid",
      product_id);
  return reload_product(tx, product_id);
}

// ---- categories -----------------------------------------------------------------------------

namespace {

// The slug for `name`, "-2", "-3"… on collision with another category.
std::string free_category_slug(pqxx::work& tx, const std::string& name, const std::string& self_id) {
  std::string base = slugify(name);
  if (base.empty()) base = "category";
  if (base.size() > 90) base.resize(90);
  auto rows = tx.exec_params(
      "SELECT slug FROM catalog.categories WHERE (slug = $1 OR slug LIKE $1 || '-%')"
      " AND ($2::uuid IS NULL OR category_id <> $2::uuid)",
      base, nonempty(self_id));
  std::vector<std::string> taken;
  for (const auto& r : rows) taken.emplace_back(r[0].c_str());
  auto used = [&](const std::string& s) { return std::find(taken.begin(), taken.end(), s) != taken.end(); };
  if (!used(base)) return base;
  for (int n = 2;; ++n) {
    std::string candidate = base + "-" + std::to_string(n);
    if (!used(candidate)) return candidate;
  }
}

}  // namespace

std::vector<category_record> insert_category(pqxx::work& tx, const category_record& c) {
  int64_t level = 0;
  std::string path = "/" + c.id + "/";
  if (!c.parent_id.empty()) {
    auto parent = tx.exec_params(
        "SELECT level, path FROM catalog.categories WHERE category_id = $1::uuid FOR UPDATE", c.parent_id);
    if (parent.empty()) throw refused(422, "Parent category not found");
    level = parent[0][0].as<int64_t>() + 1;
    path = std::string{parent[0][1].c_str()} + c.id + "/";
    if (level > 9) throw refused(422, "Category depth cannot exceed 10 levels");
  }
  std::string slug = free_category_slug(tx, c.name, {});
  tx.exec_params(
      "INSERT INTO catalog.categories (category_id, parent_id, name, slug, description, image_url, level, path,"
      " display_order, is_active, seo_title, seo_description, seo_keywords)"
      " VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, $7, $8, $9, true, $10, $11, $12)",
      c.id, nonempty(c.parent_id), c.name, slug, c.description, opt(c.image_url), level, path, c.display_order,
      opt(c.seo_title), opt(c.seo_description), opt(c.seo_keywords));
  publish(tx, "category_created",
          {{"category_id", c.id}, {"name", c.name}, {"slug", slug},
           {"parent_id", c.parent_id.empty() ? json(nullptr) : json(c.parent_id)}},
          c.id);
  return load_categories(tx);
}

std::vector<category_record> update_category(pqxx::work& tx, const category_record& before,
                                             const category_record& after) {
  auto self = tx.exec_params(
      "SELECT level, path FROM catalog.categories WHERE category_id = $1::uuid FOR UPDATE", after.id);
  if (self.empty()) throw refused(404, "Category not found");
  int64_t old_level = self[0][0].as<int64_t>();
  std::string old_path = self[0][1].c_str();
  if (before.parent_id != after.parent_id) {
    int64_t new_level = 0;
    std::string new_path = "/" + after.id + "/";
    if (!after.parent_id.empty()) {
      auto parent = tx.exec_params(
          "SELECT level, path FROM catalog.categories WHERE category_id = $1::uuid FOR UPDATE", after.parent_id);
      if (parent.empty()) throw refused(422, "Parent category not found");
      std::string ppath = parent[0][1].c_str();
      if (ppath.compare(0, old_path.size(), old_path) == 0)
        throw refused(422, "Category cannot be its own ancestor");
      new_level = parent[0][0].as<int64_t>() + 1;
      new_path = ppath + after.id + "/";
    }
    auto deepest = tx.exec_params(
        "SELECT coalesce(max(level), 0) FROM catalog.categories WHERE path LIKE $1 || '%'", old_path);
    if (deepest[0][0].as<int64_t>() - old_level + new_level > 9)
      throw refused(422, "Category depth cannot exceed 10 levels");
    tx.exec_params("UPDATE catalog.categories SET parent_id = $2::uuid WHERE category_id = $1::uuid", after.id,
                   nonempty(after.parent_id));
    tx.exec_params(
        "UPDATE catalog.categories SET path = $2 || substr(path, length($1) + 1), level = level + $3,"
        " updated_at = now() WHERE path LIKE $1 || '%'",
        old_path, new_path, new_level - old_level);
  }
  std::string slug = before.slug;
  if (lower(before.name) != lower(after.name) || before.name != after.name)
    slug = free_category_slug(tx, after.name, after.id);
  tx.exec_params(
      "UPDATE catalog.categories SET name = $2, slug = $3, description = $4, image_url = $5, display_order = $6,"
      " is_active = $7, seo_title = $8, seo_description = $9, seo_keywords = $10, updated_at = now()"
      " WHERE category_id = $1::uuid",
      after.id, after.name, slug, after.description, opt(after.image_url), after.display_order, after.is_active,
      opt(after.seo_title), opt(after.seo_description), opt(after.seo_keywords));
  if (before.name != after.name)
    tx.exec_params(
        "UPDATE catalog.products p SET category = $2, row_version = row_version + 1 FROM catalog.product_categories pc"
        " WHERE pc.product_id = p.product_id AND pc.category_id = $1::uuid AND pc.is_primary",
        after.id, after.name);
  publish(tx, "category_updated",
          {{"category_id", after.id}, {"name", after.name}, {"slug", slug}, {"is_active", after.is_active},
           {"parent_id", after.parent_id.empty() ? json(nullptr) : json(after.parent_id)}},
          after.id);
  return load_categories(tx);
}

// ---- variants -------------------------------------------------------------------------------

variant_attribute_record insert_variant_attribute(pqxx::work& tx, const variant_attribute_record& a) {
  tx.exec_params(
      "INSERT INTO catalog.variant_attributes (attribute_id, name, type, display_order, is_required, is_visible)"
      " VALUES ($1::uuid, $2, $3, $4, $5, $6)",
      a.id, a.name, a.type, a.display_order, a.is_required, a.is_visible);
  return a;
}

namespace {

void write_variant_attributes(pqxx::work& tx, const variant_record& v) {
  tx.exec_params("DELETE FROM catalog.variant_attribute_values WHERE variant_id = $1::uuid", v.id);
  for (const auto& [name, value] : v.attributes) {
    auto r = tx.exec_params(
        "INSERT INTO catalog.variant_attribute_values (variant_id, attribute_id, value)"
        " SELECT $1::uuid, attribute_id, $3 FROM catalog.variant_attributes WHERE lower(name) = lower($2)",
        v.id, name, value);
    if (r.affected_rows() == 0) throw refused(422, "Unknown variant attribute: " + name);
  }
}

variant_record reload_variant(pqxx::work& tx, const std::string& id) {
  auto v = load_variants(tx, id);
  if (v.empty()) throw refused(404, "Variant not found");
  return std::move(v.front());
}

}  // namespace

variant_record insert_variant(pqxx::work& tx, const variant_record& v) {
  tx.exec_params("INSERT INTO catalog.sku_registry (sku, kind, owner_id) VALUES ($1, 'variant', $2::uuid)", v.sku,
                 v.id);
  if (v.is_master)
    tx.exec_params("UPDATE catalog.product_variants SET is_master = false WHERE parent_product_id = $1::uuid",
                   v.parent_id);
  tx.exec_params(
      "INSERT INTO catalog.product_variants (variant_id, parent_product_id, variant_sku, variant_name, is_master,"
      " is_active, sort_order, weight, attribute_key) VALUES ($1::uuid, $2::uuid, $3, $4, $5, true, $6, $7::numeric, $8)",
      v.id, v.parent_id, v.sku, v.name, v.is_master, v.sort_order, opt(v.weight), attribute_key(v.attributes));
  write_variant_attributes(tx, v);
  for (const auto& p : v.prices)
    tx.exec_params(
        "INSERT INTO catalog.variant_pricing (variant_id, price, compare_at_price, cost, currency)"
        " VALUES ($1::uuid, $2::numeric, $3::numeric, $4::numeric, $5)",
        v.id, money::format(p.price), opt(money_text(p.compare_at_price)), opt(money_text(p.cost)), p.currency);
  publish(tx, "variant_created",
          {{"variant_id", v.id}, {"product_id", v.parent_id}, {"variant_sku", v.sku}, {"variant_name", v.name}},
          v.parent_id);
  tx.exec_params(
      "UPDATE catalog.products SET row_version = row_version + 1, updated_at = now() WHERE product_id = $1::uuid",
      v.parent_id);
  return reload_variant(tx, v.id);
}

variant_record update_variant(pqxx::work& tx, const variant_record& v) {
  if (v.is_master)
    tx.exec_params(
        "UPDATE catalog.product_variants SET is_master = false WHERE parent_product_id = $1::uuid AND variant_id <> $2::uuid",
        v.parent_id, v.id);
  tx.exec_params(
      "UPDATE catalog.product_variants SET variant_name = $2, is_master = $3, sort_order = $4, weight = $5::numeric,"
      " attribute_key = $6, updated_at = now() WHERE variant_id = $1::uuid",
      v.id, v.name, v.is_master, v.sort_order, opt(v.weight), attribute_key(v.attributes));
  write_variant_attributes(tx, v);
  return reload_variant(tx, v.id);
}

variant_record reprice_variant(pqxx::work& tx, const variant_record& v, const variant_price& next,
                               money::cents old_price) {
  // Close the open row at the new row's start, then open the new one (history kept).
  std::string from = iso(next.valid_from);
  tx.exec_params(
      "DELETE FROM catalog.variant_pricing WHERE variant_id = $1::uuid AND valid_from >= $2::timestamptz",
      v.id, from);
  tx.exec_params(
      "UPDATE catalog.variant_pricing SET valid_to = $2::timestamptz WHERE variant_id = $1::uuid"
      " AND (valid_to IS NULL OR valid_to > $2::timestamptz)",
      v.id, from);
  tx.exec_params(
      "INSERT INTO catalog.variant_pricing (variant_id, price, compare_at_price, cost, currency, valid_from)"
      " VALUES ($1::uuid, $2::numeric, $3::numeric, $4::numeric, $5, $6::timestamptz)",
      v.id, money::format(next.price), opt(money_text(next.compare_at_price)), opt(money_text(next.cost)),
      next.currency, from);
  tx.exec_params("UPDATE catalog.product_variants SET updated_at = now() WHERE variant_id = $1::uuid", v.id);
  publish(tx, "product_price_changed",
          {{"item_id", v.id}, {"product_id", v.parent_id}, {"variant_id", v.id},
           {"old_price", money::to_json(old_price)}, {"new_price", money::to_json(next.price)},
           {"valid_from", from}},
          v.parent_id);
  return reload_variant(tx, v.id);
}

variant_record deactivate_variant(pqxx::work& tx, const variant_record& v) {
  tx.exec_params(
      "UPDATE catalog.product_variants SET is_active = false, is_master = false, updated_at = now()"
      " WHERE variant_id = $1::uuid",
      v.id);
  tx.exec_params(
      "UPDATE catalog.products SET row_version = row_version + 1, updated_at = now() WHERE product_id = $1::uuid",
      v.parent_id);
  return reload_variant(tx, v.id);
}

// ---- bundles --------------------------------------------------------------------------------

namespace {

void write_bundle_parts(pqxx::work& tx, const bundle_record& b) {
  tx.exec_params("DELETE FROM catalog.bundle_components WHERE bundle_id = $1::uuid", b.id);
  tx.exec_params("DELETE FROM catalog.bundle_pricing_rules WHERE bundle_id = $1::uuid", b.id);
  for (const auto& c : b.components)
    tx.exec_params(
        "INSERT INTO catalog.bundle_components (bundle_id, product_id, quantity, is_required, sort_order)"
        " VALUES ($1::uuid, $2::uuid, $3, $4, $5)",
        b.id, c.item_id, c.quantity, c.is_required, c.sort_order);
  for (const auto& r : b.rules)
    tx.exec_params(
        "INSERT INTO catalog.bundle_pricing_rules (bundle_id, min_quantity, discount_type, discount_value, priority,"
        " is_active) VALUES ($1::uuid, $2, $3, $4::numeric, $5, $6)",
        b.id, r.rule.min_quantity, r.rule.percentage ? "percentage" : "fixed_amount", money::format(r.rule.value),
        r.rule.priority, r.is_active);
}

std::optional<std::string> opt_iso(const std::optional<micros>& t) {
  if (!t) return std::nullopt;
  return iso(*t);
}

bundle_record reload_bundle(pqxx::work& tx, const std::string& id) {
  auto v = load_bundles(tx, id);
  if (v.empty()) throw refused(404, "Bundle not found");
  return std::move(v.front());
}

}  // namespace

bundle_record insert_bundle(pqxx::work& tx, const bundle_record& b) {
  tx.exec_params("INSERT INTO catalog.sku_registry (sku, kind, owner_id) VALUES ($1, 'bundle', $2::uuid)", b.sku,
                 b.id);
  auto from = opt_iso(b.valid_from), to = opt_iso(b.valid_to);
  std::string maxq = b.max_quantity ? std::to_string(*b.max_quantity) : std::string{};
  tx.exec_params(
      "INSERT INTO catalog.bundles (bundle_id, bundle_sku, bundle_name, bundle_description, bundle_type,"
      " pricing_strategy, bundle_price, discount_percentage, is_active, valid_from, valid_to, max_quantity)"
      " VALUES ($1::uuid, $2, $3, $4, $5, $6, $7::numeric, $8::numeric, $9, $10::timestamptz, $11::timestamptz, $12::integer)",
      b.id, b.sku, b.name, b.description, b.type, b.strategy, opt(money_text(b.bundle_price)),
      opt(money_text(b.discount_pct_e2)), b.is_active, opt(from), opt(to), nonempty(maxq));
  write_bundle_parts(tx, b);
  publish(tx, "bundle_updated", {{"bundle_id", b.id}, {"bundle_sku", b.sku}, {"action", "created"}}, b.id);
  return reload_bundle(tx, b.id);
}

bundle_record replace_bundle(pqxx::work& tx, const bundle_record& b, const std::string& old_sku) {
  if (old_sku != b.sku) tx.exec_params("UPDATE catalog.sku_registry SET sku = $2 WHERE sku = $1", old_sku, b.sku);
  auto from = opt_iso(b.valid_from), to = opt_iso(b.valid_to);
  std::string maxq = b.max_quantity ? std::to_string(*b.max_quantity) : std::string{};
  tx.exec_params(
      "UPDATE catalog.bundles SET bundle_sku = $2, bundle_name = $3, bundle_description = $4, bundle_type = $5,"
      " pricing_strategy = $6, bundle_price = $7::numeric, discount_percentage = $8::numeric, is_active = $9,"
      " valid_from = $10::timestamptz, valid_to = $11::timestamptz, max_quantity = $12::integer, updated_at = now()"
      " WHERE bundle_id = $1::uuid",
      b.id, b.sku, b.name, b.description, b.type, b.strategy, opt(money_text(b.bundle_price)),
      opt(money_text(b.discount_pct_e2)), b.is_active, opt(from), opt(to), nonempty(maxq));
  write_bundle_parts(tx, b);
  publish(tx, "bundle_updated", {{"bundle_id", b.id}, {"bundle_sku", b.sku}, {"action", "updated"}}, b.id);
  return reload_bundle(tx, b.id);
}

bundle_record deactivate_bundle(pqxx::work& tx, const bundle_record& b) {
  tx.exec_params("UPDATE catalog.bundles SET is_active = false, updated_at = now() WHERE bundle_id = $1::uuid", b.id);
  publish(tx, "bundle_updated", {{"bundle_id", b.id}, {"bundle_sku", b.sku}, {"action", "deleted"}}, b.id);
  return reload_bundle(tx, b.id);
}

// ---- sales, outbox ---------------------------------------------------------------------------

std::vector<bool> record_sales(pqxx::transaction_base& tx, const std::vector<sale>& sales) {
  std::vector<bool> out(sales.size(), false);
  if (sales.empty()) return out;
  nlohmann::json docs = nlohmann::json::array();
  for (const auto& s : sales) {
    nlohmann::json lines = nlohmann::json::array();
    for (const auto& l : s.lines) lines.push_back({{"item", l.item_id}, {"units", l.units}});
    docs.push_back({{"event_id", s.event_id}, {"lines", std::move(lines)}});
  }
  // `p` marks every event processed (the first copy of an id in the batch, if new) and returns the
  // first deliveries; their lines are summed per item first, as one upsert may not touch the same
  // row twice.
  static const std::string sql =
      "WITH d AS (SELECT DISTINCT ON (1) (x.j->>'event_id')::uuid AS event_id, x.n, x.j->'lines' AS lines "
      "FROM mercato.batch_items($1::jsonb) AS x(j, n) ORDER BY 1, x.n), "
      "p AS (INSERT INTO catalog.processed_events (event_id, consumer) SELECT event_id, $2::text FROM d "
      "ON CONFLICT DO NOTHING RETURNING event_id), "
      "s AS (INSERT INTO catalog.item_sales_daily (item_id, day, units) "
      "SELECT l->>'item', current_date, sum((l->>'units')::bigint) "
      "FROM d JOIN p USING (event_id), jsonb_array_elements(d.lines) AS l GROUP BY l->>'item' "
      "ON CONFLICT (item_id, day) DO UPDATE SET units = catalog.item_sales_daily.units + EXCLUDED.units) "
      "SELECT d.n FROM d JOIN p USING (event_id)";
  for (const auto& r : db::exec_hot(tx, sql, docs.dump(), std::string{"product.popular"})) {
    const auto n = r[0].as<size_t>();
    if (n >= 1 && n <= out.size()) out[n - 1] = true;
  }
  return out;
}

outbox_health read_outbox_health(pqxx::work& tx) {
  const auto b = catalog_outbox().read_backlog(tx);
  return {b.pending, b.oldest_age_seconds, b.failed};
}

}  // namespace mercato::product
