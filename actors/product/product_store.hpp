// SQL for the `catalog` schema: loading the read model and the write units (each runs inside the
// caller's transaction, enqueues its outbox events there, and re-reads what it changed so the
// actor can update its model from committed rows). Runs on database pool threads only.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <pqxx/transaction>

#include "product/catalog.hpp"
#include "product/product_input.hpp"

namespace mercato::product {

// Thrown inside a unit to roll it back with a domain answer (status + detail text).
struct refused : std::runtime_error {
  refused(int status_, std::string detail) : std::runtime_error(detail), status(status_) {}
  int status;
};

catalog_snapshot load_catalog(pqxx::work& tx);
std::vector<product_record> load_products(pqxx::work& tx, const std::string& id = {});
std::vector<category_record> load_categories(pqxx::work& tx);
std::vector<variant_record> load_variants(pqxx::work& tx, const std::string& id = {});
std::vector<bundle_record> load_bundles(pqxx::work& tx, const std::string& id = {});

// Products. `before` is the model's copy (nullptr on create); events: product_created /
// product_updated (+ product_price_changed) / product_deleted.
product_record insert_product(pqxx::work& tx, const product_record& p, int64_t initial_stock);
product_record update_product(pqxx::work& tx, const product_record& before, const product_record& after);
product_record delete_product(pqxx::work& tx, const product_record& p);
product_record clear_pending_stock(pqxx::work& tx, const std::string& product_id);
// Category mapping (is_primary clears the old primary).
product_record map_category(pqxx::work& tx, const std::string& product_id, const std::string& category_id,
                            bool is_primary);
product_record unmap_category(pqxx::work& tx, const std::string& product_id, const std::string& category_id);

// Categories: the whole tree is returned (a move rewrites paths and levels of the subtree).
std::vector<category_record> insert_category(pqxx::work& tx, const category_record& c);
std::vector<category_record> update_category(pqxx::work& tx, const category_record& before,
                                             const category_record& after);

// Variants.
variant_attribute_record insert_variant_attribute(pqxx::work& tx, const variant_attribute_record& a);
variant_record insert_variant(pqxx::work& tx, const variant_record& v);
variant_record update_variant(pqxx::work& tx, const variant_record& v);
variant_record reprice_variant(pqxx::work& tx, const variant_record& v, const variant_price& next,
                               money::cents old_price);
variant_record deactivate_variant(pqxx::work& tx, const variant_record& v);

// Bundles.
bundle_record insert_bundle(pqxx::work& tx, const bundle_record& b);
bundle_record replace_bundle(pqxx::work& tx, const bundle_record& b, const std::string& old_sku);
bundle_record deactivate_bundle(pqxx::work& tx, const bundle_record& b);

// order.order_confirmed: units per item for the `popular` sort; false when already counted.
struct sold_line {
  std::string item_id;
  int64_t units = 0;
};
// One order.order_confirmed event's lines.
struct sale {
  std::string event_id;
  std::vector<sold_line> lines;
};
// Adds the orders' lines to today's sales, once per event id (a duplicate delivery, or a copy later
// in `sales`, counts nothing). ONE statement for all, so it needs no transaction of its own and
// under load a batch of events costs one statement. Answers, per sale in order, whether it counted.
std::vector<bool> record_sales(pqxx::transaction_base& tx, const std::vector<sale>& sales);

// The outbox's health for outbox_stats.
struct outbox_health {
  int64_t pending = 0;
  double oldest_age_seconds = 0;
  int64_t failed = 0;
};
outbox_health read_outbox_health(pqxx::work& tx);

// Canonical attribute combination key ("color=black;size=m").
std::string attribute_key(const std::vector<std::pair<std::string, std::string>>& attrs);

}  // namespace mercato::product

namespace mercato::product {

// A unit's answer: the value, or the refusal (status + detail) after rolling back to a savepoint,
// so a domain refusal never commits half a change.
template <class T>
struct unit_result {
  std::optional<T> value;
  int status = 0;
  std::string detail;
};

template <class T, class Fn>
unit_result<T> guarded(pqxx::work& tx, const Fn& fn) {
  tx.exec0("SAVEPOINT product_unit");
  try {
    return {fn(tx), 0, {}};
  } catch (const refused& r) {
    tx.exec0("ROLLBACK TO SAVEPOINT product_unit");
    return {std::nullopt, r.status, r.what()};
  }
}

}  // namespace mercato::product
