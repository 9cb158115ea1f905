// SQL for typed attributes and SEO rows (see attribute_store.hpp).
#include "product/attribute_store.hpp"

#include <cstdlib>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "db/outbox.hpp"
#include "db/sql_array.hpp"
#include "mercato/event.hpp"
#include "product/product_store.hpp"

namespace mercato::product {

using nlohmann::json;

namespace {

#define US(col) "(extract(epoch from " col ") * 1000000)::bigint"

const char* nullable(const std::optional<std::string>& s) { return s ? s->c_str() : nullptr; }
const char* nonempty(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

std::optional<std::string> read_opt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return std::string{f.c_str()};
}

json read_json(const pqxx::field& f) {
  if (f.is_null()) return json();
  return json::parse(f.c_str(), nullptr, false);
}

std::optional<std::string> json_text(const json& j) {
  if (j.is_null()) return std::nullopt;
  return j.dump();
}

// The typed column a definition's values live in.
std::string column_of(const std::string& type) {
  if (type == "number" || type == "dimension") return "numeric_value";
  if (type == "boolean") return "boolean_value";
  if (type == "date") return "date_value";
  if (type == "multiselect") return "values";
  return "text_value";
}

}  // namespace

// ---- loading ---------------------------------------------------------------------------------

std::vector<attribute_definition> load_attribute_definitions(pqxx::work& tx, const std::string& id) {
  std::vector<attribute_definition> out;
  auto rows = tx.exec_params(
      "SELECT attribute_id::text, attribute_code, name, type, scope, category_id::text, unit, group_name,"
      " options::text, validation_rules::text, default_value, help_text, is_required, is_filterable,"
      " is_searchable, is_comparable, is_visible, display_order, " US("created_at") ", " US("updated_at") ","
      " array_to_json(product_types)::text"
      " FROM catalog.attribute_definitions WHERE ($1::uuid IS NULL OR attribute_id = $1::uuid)",
      nonempty(id));
  for (const auto& r : rows) {
    attribute_definition d;
    d.id = r[0].c_str();
    d.code = r[1].c_str();
    d.name = r[2].c_str();
    d.type = r[3].c_str();
    d.scope = r[4].c_str();
    if (!r[5].is_null()) d.category_id = r[5].c_str();
    d.unit = read_opt(r[6]);
    d.group_name = read_opt(r[7]);
    d.options = read_json(r[8]);
    d.validation_rules = read_json(r[9]);
    d.default_value = read_opt(r[10]);
    d.help_text = read_opt(r[11]);
    d.is_required = r[12].as<bool>();
    d.is_filterable = r[13].as<bool>();
    d.is_searchable = r[14].as<bool>();
    d.is_comparable = r[15].as<bool>();
    d.is_visible = r[16].as<bool>();
    d.display_order = r[17].as<int64_t>();
    d.created_at = r[18].as<int64_t>();
    d.updated_at = r[19].as<int64_t>();
    d.product_types = json::parse(r[20].c_str()).get<std::vector<std::string>>();
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<stored_attribute_value> load_attribute_values(pqxx::work& tx, const std::string& product_id) {
  std::vector<stored_attribute_value> out;
  auto rows = tx.exec_params(
      "SELECT v.product_id::text, v.attribute_id::text, d.type, v.text_value, v.numeric_value::text,"
      " v.boolean_value, v.date_value::text, array_to_json(v.\"values\")::text"
      " FROM catalog.product_attribute_values v JOIN catalog.attribute_definitions d USING (attribute_id)"
      " WHERE ($1::uuid IS NULL OR v.product_id = $1::uuid)",
      nonempty(product_id));
  for (const auto& r : rows) {
    stored_attribute_value s;
    s.product_id = r[0].c_str();
    s.attribute_id = r[1].c_str();
    std::string col = column_of(r[2].c_str());
    if (col == "numeric_value" && !r[4].is_null()) s.value = std::strtod(r[4].c_str(), nullptr);
    else if (col == "boolean_value" && !r[5].is_null()) s.value = r[5].as<bool>();
    else if (col == "date_value" && !r[6].is_null()) s.value = std::string{r[6].c_str()};
    else if (col == "values" && !r[7].is_null()) s.value = json::parse(r[7].c_str());
    else if (col == "text_value" && !r[3].is_null()) s.value = std::string{r[3].c_str()};
    else continue;
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<seo_record> load_seo(pqxx::work& tx, const std::string& product_id) {
  std::vector<seo_record> out;
  auto rows = tx.exec_params(
      "SELECT product_id::text, meta_title, meta_description, meta_keywords, url_slug, canonical_url, og_title,"
      " og_description, og_image, twitter_card, robots_meta, schema_markup::text, array_to_json(overridden)::text, "
      US("updated_at") " FROM catalog.product_seo WHERE ($1::uuid IS NULL OR product_id = $1::uuid)",
      nonempty(product_id));
  for (const auto& r : rows) {
    seo_record s;
    s.product_id = r[0].c_str();
    int i = 1;
    for (const auto& f : seo_text_fields()) seo_field(s, f) = read_opt(r[i++]);
    s.schema_markup = read_json(r[11]);
    s.overridden = json::parse(r[12].c_str()).get<std::vector<std::string>>();
    s.updated_at = r[13].as<int64_t>();
    out.push_back(std::move(s));
  }
  return out;
}

extras_snapshot load_extras(pqxx::work& tx) {
  extras_snapshot s;
  s.definitions = load_attribute_definitions(tx);
  s.values = load_attribute_values(tx);
  s.seo = load_seo(tx);
  return s;
}

// ---- definitions -----------------------------------------------------------------------------

namespace {

attribute_definition reload_attribute(pqxx::work& tx, const std::string& id) {
  auto v = load_attribute_definitions(tx, id);
  if (v.empty()) throw refused(404, "Attribute not found");
  return std::move(v.front());
}

}  // namespace

attribute_definition insert_attribute(pqxx::work& tx, const attribute_definition& d) {
  auto options = json_text(d.options);
  auto rules = json_text(d.validation_rules);
  tx.exec_params(
      "INSERT INTO catalog.attribute_definitions (attribute_id, attribute_code, name, type, scope, category_id,"
      " unit, group_name, options, validation_rules, default_value, help_text, is_required, is_filterable,"
      " is_searchable, is_comparable, is_visible, display_order, product_types)"
      " VALUES ($1::uuid, $2, $3, $4, $5, $6::uuid, $7, $8, $9::jsonb, $10::jsonb, $11, $12, $13, $14, $15, $16,"
      " $17, $18, $19::text[])",
      d.id, d.code, d.name, d.type, d.scope, nonempty(d.category_id), nullable(d.unit), nullable(d.group_name),
      nullable(options), nullable(rules), nullable(d.default_value), nullable(d.help_text), d.is_required,
      d.is_filterable, d.is_searchable, d.is_comparable, d.is_visible, d.display_order,
      db::text_array(d.product_types));
  return reload_attribute(tx, d.id);
}

attribute_definition update_attribute(pqxx::work& tx, const attribute_definition& d) {
  // Checked again here: a value may have been written since the actor looked.
  auto stored = tx.exec_params(
      "SELECT type <> $2 AND EXISTS (SELECT 1 FROM catalog.product_attribute_values WHERE attribute_id = $1::uuid)"
      " FROM catalog.attribute_definitions WHERE attribute_id = $1::uuid FOR UPDATE",
      d.id, d.type);
  if (stored.empty()) throw refused(404, "Attribute not found");
  if (stored[0][0].as<bool>()) throw refused(409, "Attribute type cannot be changed while products have values");
  auto options = json_text(d.options);
  auto rules = json_text(d.validation_rules);
  tx.exec_params(
      "UPDATE catalog.attribute_definitions SET attribute_code = $2, name = $3, type = $4, scope = $5,"
      " category_id = $6::uuid, unit = $7, group_name = $8, options = $9::jsonb, validation_rules = $10::jsonb,"
      " default_value = $11, help_text = $12, is_required = $13, is_filterable = $14, is_searchable = $15,"
      " is_comparable = $16, is_visible = $17, display_order = $18, product_types = $19::text[], updated_at = now()"
      " WHERE attribute_id = $1::uuid",
      d.id, d.code, d.name, d.type, d.scope, nonempty(d.category_id), nullable(d.unit), nullable(d.group_name),
      nullable(options), nullable(rules), nullable(d.default_value), nullable(d.help_text), d.is_required,
      d.is_filterable, d.is_searchable, d.is_comparable, d.is_visible, d.display_order,
      db::text_array(d.product_types));
  return reload_attribute(tx, d.id);
}

std::string delete_attribute(pqxx::work& tx, const std::string& id) {
  tx.exec_params("DELETE FROM catalog.product_attribute_values WHERE attribute_id = $1::uuid", id);
  auto r = tx.exec_params("DELETE FROM catalog.attribute_definitions WHERE attribute_id = $1::uuid", id);
  if (r.affected_rows() == 0) throw refused(404, "Attribute not found");
  return id;
}

// ---- values ----------------------------------------------------------------------------------

std::map<std::string, attribute_value> write_product_attributes(
    pqxx::work& tx, const std::string& product_id,
    const std::vector<std::pair<attribute_definition, attribute_value>>& set,
    const std::vector<attribute_definition>& removed) {
  json codes = json::array();
  for (const auto& d : removed) {
    tx.exec_params("DELETE FROM catalog.product_attribute_values WHERE product_id = $1::uuid AND attribute_id = $2::uuid",
                   product_id, d.id);
    codes.push_back(d.code);
  }
  for (const auto& [d, v] : set) {
    std::string col = column_of(d.type);
    std::string cast = col == "numeric_value" ? "::numeric"
                       : col == "boolean_value" ? "::boolean"
                       : col == "date_value"    ? "::date"
                       : col == "values"        ? "::text[]"
                                                : "";
    std::string text;
    if (v.is_array()) text = db::text_array(v.get<std::vector<std::string>>());
    else if (v.is_string()) text = v.get<std::string>();
    else text = v.dump();  // number or boolean
    std::string quoted = col == "values" ? "\"values\"" : col;
    tx.exec_params(
        "INSERT INTO catalog.product_attribute_values (product_id, attribute_id, " + quoted +
            ") VALUES ($1::uuid, $2::uuid, $3" + cast + ") ON CONFLICT (product_id, attribute_id) DO UPDATE SET " +
            quoted + " = EXCLUDED." + quoted,
        product_id, d.id, text);
    codes.push_back(d.code);
  }
  if (!codes.empty()) {
    static const db::outbox box{"catalog"};
    box.enqueue(tx,
                make_event("product", "product_updated",
                           json{{"product_id", product_id}, {"changed", {{"attributes", codes}}}}.dump(), product_id),
                product_id);
  }
  std::map<std::string, attribute_value> out;
  for (auto& s : load_attribute_values(tx, product_id)) out[s.attribute_id] = std::move(s.value);
  return out;
}

// ---- SEO -------------------------------------------------------------------------------------

std::vector<seo_record> save_seo(pqxx::work& tx, const std::vector<seo_record>& rows) {
  std::vector<seo_record> out;
  for (const auto& s : rows) {
    auto schema = json_text(s.schema_markup);
    tx.exec_params(
        "INSERT INTO catalog.product_seo (product_id, meta_title, meta_description, meta_keywords, url_slug,"
        " canonical_url, og_title, og_description, og_image, twitter_card, robots_meta, schema_markup, overridden,"
        " updated_at) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::text[], now())"
        " ON CONFLICT (product_id) DO UPDATE SET meta_title = EXCLUDED.meta_title,"
        " meta_description = EXCLUDED.meta_description, meta_keywords = EXCLUDED.meta_keywords,"
        " url_slug = EXCLUDED.url_slug, canonical_url = EXCLUDED.canonical_url, og_title = EXCLUDED.og_title,"
        " og_description = EXCLUDED.og_description, og_image = EXCLUDED.og_image,"
        " twitter_card = EXCLUDED.twitter_card, robots_meta = EXCLUDED.robots_meta,"
        " schema_markup = EXCLUDED.schema_markup, overridden = EXCLUDED.overridden, updated_at = now()",
        s.product_id, nullable(s.meta_title), nullable(s.meta_description), nullable(s.meta_keywords),
        nullable(s.url_slug), nullable(s.canonical_url), nullable(s.og_title), nullable(s.og_description),
        nullable(s.og_image), nullable(s.twitter_card), nullable(s.robots_meta), nullable(schema),
        db::text_array(s.overridden));
    auto back = load_seo(tx, s.product_id);
    if (!back.empty()) out.push_back(std::move(back.front()));
  }
  return out;
}

}  // namespace mercato::product
