// SQL for typed attributes and stored SEO rows (catalog.attribute_definitions,
// catalog.product_attribute_values, catalog.product_seo): loading and the write units, run inside
// the agent's queued write transaction (see product_store.hpp). Pool threads only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <pqxx/transaction>

#include "product/attributes.hpp"
#include "product/seo.hpp"

namespace mercato::product {

// What the agent loads at start beside catalog_snapshot.
struct extras_snapshot {
  std::vector<attribute_definition> definitions;
  std::vector<stored_attribute_value> values;
  std::vector<seo_record> seo;
};
extras_snapshot load_extras(pqxx::work& tx);

std::vector<attribute_definition> load_attribute_definitions(pqxx::work& tx, const std::string& id = {});
std::vector<stored_attribute_value> load_attribute_values(pqxx::work& tx, const std::string& product_id = {});
std::vector<seo_record> load_seo(pqxx::work& tx, const std::string& product_id = {});

attribute_definition insert_attribute(pqxx::work& tx, const attribute_definition& d);
attribute_definition update_attribute(pqxx::work& tx, const attribute_definition& d);
// Deletes the definition and its values; returns the id.
std::string delete_attribute(pqxx::work& tx, const std::string& id);

// Upserts `set` (attribute id → canonical value, definitions give the typed column), deletes
// `removed`, publishes product_updated {changed: {attributes: [codes]}}; returns the product's values.
std::map<std::string, attribute_value> write_product_attributes(
    pqxx::work& tx, const std::string& product_id, const std::vector<std::pair<attribute_definition, attribute_value>>& set,
    const std::vector<attribute_definition>& removed);

// Upserts SEO rows (url_slug UNIQUE: a taken slug is a conflict); returns them as stored.
std::vector<seo_record> save_seo(pqxx::work& tx, const std::vector<seo_record>& rows);

}  // namespace mercato::product
