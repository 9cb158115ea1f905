// The inventory store's reads for REST listings, reports and analytics (declared in
// inventory_store.hpp; the writes and the reservation path are in inventory_store.cpp). None of
// them locks or writes.
#include "inventory/inventory_store.hpp"

#include <map>

#include <pqxx/pqxx>

#include "db/outbox.hpp"
#include "inventory/sql_text.hpp"

namespace mercato::inventory::store {

stock_summary summary(pqxx::work& tx, const std::vector<std::string>& product_ids) {
  stock_summary out;
  auto rows = run(tx,
                  "SELECT product_id, sum(quantity), sum(reserved_quantity) FROM inventory.stock_levels"
                  " WHERE product_id = ANY($1::text[]) GROUP BY product_id",
                  {text_array(product_ids)});
  std::map<std::string, item_stock> found;
  for (const auto& r : rows) {
    item_stock s{r[0].as<std::string>(), r[1].as<int64_t>(), r[2].as<int64_t>(), 0};
    s.available = s.on_hand - s.reserved;
    found[s.product_id] = s;
  }
  for (const auto& id : product_ids) {
    auto it = found.find(id);
    if (it != found.end()) {
      out.items.push_back(it->second);
      found.erase(it);  // once per id even when asked twice
    }
  }
  return out;
}

std::vector<stock_level_row> levels_of(pqxx::transaction_base& tx, const std::vector<std::string>& product_ids,
                                       const std::vector<std::string>& warehouse_ids) {
  std::vector<stock_level_row> out;
  for (const auto& r : run(tx,
                           "SELECT product_id, warehouse_id::text, quantity, reserved_quantity, available_quantity"
                           " FROM inventory.stock_levels WHERE product_id = ANY($1::text[])"
                           " AND ($2 = '{}' OR warehouse_id = ANY($2::uuid[]))"
                           " ORDER BY product_id, warehouse_id",
                           {text_array(product_ids), text_array(warehouse_ids)}))
    out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<int64_t>(), r[3].as<int64_t>(),
                   r[4].as<int64_t>()});
  return out;
}

stock_levels snapshot(pqxx::transaction_base& tx, const std::string& warehouse_id, int64_t skip, int64_t limit) {
  stock_levels out;
  for (const auto& r : run(tx,
                           "SELECT product_id, warehouse_id::text, quantity, reserved_quantity, available_quantity"
                           " FROM inventory.stock_levels WHERE NOT hidden AND ($1 = '' OR warehouse_id::text = $1)"
                           " ORDER BY product_id, warehouse_id OFFSET $2 LIMIT $3",
                           {warehouse_id, std::to_string(skip), std::to_string(limit)}))
    out.levels.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<int64_t>(),
                          r[3].as<int64_t>(), r[4].as<int64_t>()});
  return out;
}

low_stock_count count_low(pqxx::work& tx) {
  auto r = tx.exec1(
      "SELECT count(*) FILTER (WHERE alert_level = 'warning'), count(*) FILTER (WHERE alert_level = 'critical')"
      " FROM inventory.stock_alerts WHERE status = 'open'");
  return low_stock_count{r[0].as<int64_t>(), r[1].as<int64_t>()};
}

outbox_stats_reply outbox_statistics(pqxx::work& tx) {
  const auto b = db::outbox{"inventory"}.read_backlog(tx);
  return outbox_stats_reply{b.pending, b.oldest_age_seconds, b.failed};
}

std::vector<level_view> list_levels(pqxx::work& tx, const level_filter& f) {
  std::vector<level_view> out;
  auto rows = run(tx,
                  "SELECT inventory_id::text, product_id, warehouse_id::text, COALESCE(location, ''),"
                  " " INVENTORY_ISO("last_updated") ", quantity, reserved_quantity, available_quantity, reorder_point,"
                  " max_stock FROM inventory.stock_levels WHERE NOT hidden"
                  " AND ($1 = '' OR product_id = $1) AND ($2 = '' OR warehouse_id::text = $2)"
                  " AND ($3 = '' OR ($3 = 'out' AND available_quantity <= 0)"
                  "   OR ($3 = 'low' AND available_quantity > 0 AND available_quantity <= reorder_point)"
                  "   OR ($3 = 'in' AND available_quantity > reorder_point))"
                  " ORDER BY product_id, warehouse_id",
                  {f.product_id, f.warehouse_id, f.stock_status});
  for (const auto& r : rows)
    out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                   r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<int64_t>(), r[6].as<int64_t>(),
                   r[7].as<int64_t>(), r[8].as<int64_t>(), r[9].as<int64_t>()});
  return out;
}

nlohmann::json alerts(pqxx::work& tx, const std::string& status, const std::string& level) {
  nlohmann::json out = nlohmann::json::array();
  auto rows = run(tx,
                  "SELECT a.alert_id::text, a.product_id, a.warehouse_id::text, a.alert_level, a.status,"
                  " COALESCE(s.available_quantity, a.available_quantity), a.reorder_point,"
                  " COALESCE(w.name, ''), " INVENTORY_ISO("a.opened_at") ", COALESCE(" INVENTORY_ISO("a.resolved_at") ", ''),"
                  " a.suggested_reorder_quantity"
                  " FROM inventory.stock_alerts a"
                  " LEFT JOIN inventory.stock_levels s ON s.product_id = a.product_id AND s.warehouse_id = a.warehouse_id"
                  " LEFT JOIN inventory.warehouses w ON w.warehouse_id = a.warehouse_id"
                  " WHERE ($1 = 'all' OR a.status = $1) AND ($2 = '' OR a.alert_level = $2)"
                  " ORDER BY a.opened_at DESC, a.alert_id LIMIT 1000",
                  {status, level});
  for (const auto& r : rows) {
    nlohmann::json a = {{"id", r[0].as<std::string>()},
                        {"product", r[1].as<std::string>()},
                        {"productId", r[1].as<std::string>()},
                        {"sku", ""},
                        {"type", r[3].as<std::string>() == "critical" ? "out_of_stock" : "low_stock"},
                        {"alert_level", r[3].as<std::string>()},
                        {"status", r[4].as<std::string>()},
                        {"quantity", r[5].as<int64_t>()},
                        {"reorder_point", r[6].as<int64_t>()},
                        {"warehouse", r[7].as<std::string>()},
                        {"warehouseId", r[2].as<std::string>()},
                        {"opened_at", r[8].as<std::string>()},
                        {"suggested_reorder_quantity", r[10].as<int64_t>()}};
    if (!r[9].as<std::string>().empty()) a["resolved_at"] = r[9].as<std::string>();
    out.push_back(std::move(a));
  }
  return out;
}

nlohmann::json low_stock(pqxx::work& tx) {
  nlohmann::json out = nlohmann::json::array();
  auto rows = run(tx,
                  "SELECT s.product_id, s.warehouse_id::text, s.available_quantity, s.reorder_point,"
                  " GREATEST(0, s.max_stock - s.quantity), a.alert_level, " INVENTORY_ISO("s.last_updated")
                  " FROM inventory.stock_alerts a JOIN inventory.stock_levels s"
                  "  ON s.product_id = a.product_id AND s.warehouse_id = a.warehouse_id"
                  " WHERE a.status = 'open' AND NOT s.hidden"
                  " ORDER BY s.available_quantity, s.product_id, s.warehouse_id",
                  {});
  for (const auto& r : rows)
    out.push_back({{"product_id", r[0].as<std::string>()},
                   {"warehouse_id", r[1].as<std::string>()},
                   {"current_quantity", r[2].as<int64_t>()},
                   {"reorder_point", r[3].as<int64_t>()},
                   {"shortage", r[3].as<int64_t>() - r[2].as<int64_t>()},
                   {"suggested_reorder_quantity", r[4].as<int64_t>()},
                   {"alert_level", r[5].as<std::string>()},
                   {"last_updated", r[6].as<std::string>()}});
  return out;
}

nlohmann::json value_totals(pqxx::work& tx) {
  nlohmann::json warehouses = nlohmann::json::array(), items = nlohmann::json::object();
  int64_t total = 0, reserved = 0;
  for (const auto& r : run(tx,
                           "SELECT warehouse_id::text, sum(quantity), sum(reserved_quantity),"
                           " count(DISTINCT product_id) FILTER (WHERE quantity > 0)"
                           " FROM inventory.stock_levels WHERE NOT hidden GROUP BY warehouse_id ORDER BY warehouse_id",
                           {})) {
    int64_t q = r[1].as<int64_t>(), res = r[2].as<int64_t>();
    total += q;
    reserved += res;
    warehouses.push_back({{"warehouse_id", r[0].as<std::string>()}, {"total_units", q},
                          {"reserved_units", res}, {"available_units", q - res},
                          {"unique_products", r[3].as<int64_t>()}});
  }
  for (const auto& r : run(tx,
                           "SELECT product_id, sum(quantity) FROM inventory.stock_levels WHERE NOT hidden"
                           " GROUP BY product_id HAVING sum(quantity) > 0",
                           {}))
    items[r[0].as<std::string>()] = r[1].as<int64_t>();
  return {{"total_units", total}, {"reserved_units", reserved}, {"available_units", total - reserved},
          {"warehouses", warehouses}, {"on_hand_by_item", items}};
}

nlohmann::json movement_analytics(pqxx::work& tx, int64_t days, const std::string& movement_type) {
  nlohmann::json by_type = nlohmann::json::object(), recent = nlohmann::json::array();
  int64_t total = 0;
  const std::string where =
      " WHERE created_at >= now() - make_interval(days => $1::int) AND ($2 = '' OR movement_type = $2)";
  for (const auto& r : run(tx,
                           "SELECT movement_type, count(*), COALESCE(sum(quantity_change), 0),"
                           " COALESCE(sum(reserved_change), 0) FROM inventory.stock_movements" +
                               where + " GROUP BY movement_type ORDER BY movement_type",
                           {std::to_string(days), movement_type})) {
    total += r[1].as<int64_t>();
    by_type[r[0].as<std::string>()] = {{"count", r[1].as<int64_t>()},
                                       {"total_quantity", r[2].as<int64_t>()},
                                       {"total_reserved_change", r[3].as<int64_t>()}};
  }
  for (const auto& r : run(tx,
                           "SELECT movement_id::text, product_id, warehouse_id::text, movement_type,"
                           " quantity_change, reserved_change, quantity_after, reserved_after,"
                           " COALESCE(reference_id, ''), COALESCE(notes, ''), " INVENTORY_ISO("created_at") ","
                           " " INVENTORY_ISO("now() - make_interval(days => $1::int)") " FROM inventory.stock_movements" +
                               where + " ORDER BY created_at DESC, movement_id LIMIT 100",
                           {std::to_string(days), movement_type}))
    recent.push_back({{"movement_id", r[0].as<std::string>()}, {"product_id", r[1].as<std::string>()},
                      {"warehouse_id", r[2].as<std::string>()}, {"movement_type", r[3].as<std::string>()},
                      {"quantity_change", r[4].as<int64_t>()}, {"reserved_change", r[5].as<int64_t>()},
                      {"quantity_after", r[6].as<int64_t>()}, {"reserved_after", r[7].as<int64_t>()},
                      {"reference_id", r[8].as<std::string>()}, {"notes", r[9].as<std::string>()},
                      {"created_at", r[10].as<std::string>()}});
  auto from = tx.exec_params1("SELECT " INVENTORY_ISO("now() - make_interval(days => $1::int)"), days)[0].as<std::string>();
  return {{"from_date", from}, {"total_movements", total}, {"movements_by_type", by_type},
          {"recent_movements", recent}};
}

}  // namespace mercato::inventory::store
