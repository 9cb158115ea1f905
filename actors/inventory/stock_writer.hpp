// How inventory writes: row locks on stock levels in a fixed order, then everything one operation
// changes — levels, ledger rows, reservations, alert rows and outbox events — in ONE statement
// (arrays unnested by data-modifying CTEs). The caller decides on the locked values with
// stock_rules.hpp; change_set turns the decisions into rows, stock_changed events and the alert
// transitions (with their stock_low / stock_out / stock_replenished events).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/result>
#include <pqxx/transaction>

#include "db/sql_array.hpp"
#include "inventory/stock_rules.hpp"
#include "mercato/event.hpp"

namespace mercato::inventory::store {

// Names and SKUs the product agent told the actor about, readable from pool threads: the actor
// writes, units of work read (alert events carry product_name and sku when known).
struct item_label {
  std::string name, sku;
};
class label_book {
 public:
  void put(const std::string& item_id, item_label label);
  std::optional<item_label> get(const std::string& item_id) const;

 private:
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, item_label> labels_;
};
// Makes `book` the labels of the store calls on this thread until the scope ends (units of work
// run synchronously on one pool thread).
class label_scope {
 public:
  explicit label_scope(const label_book* book);
  ~label_scope();
  label_scope(const label_scope&) = delete;
  label_scope& operator=(const label_scope&) = delete;

 private:
  const label_book* previous_;
};

using params = std::vector<std::string>;
// Parameterized statement; `prep` prepares it once per connection (the hot paths, see
// db/hot_statement.hpp).
pqxx::result run(pqxx::transaction_base& tx, const std::string& sql, const params& p);
pqxx::result prep(pqxx::transaction_base& tx, const std::string& sql, const params& p);

// PostgreSQL array literals ({"a","b"}, {1,2}) for `$n::text[]` / `$n::int[]` parameters.
using db::int_array;
using db::text_array;

// Row locks on every level of `products`, in (product_id, warehouse_id) order; `set_timeout`
// first sets lock_timeout 3 s for the transaction (a timeout is SQLSTATE 55P03 → 503).
level_map lock_levels(pqxx::work& tx, const std::vector<std::string>& products, bool set_timeout = true);

// Everything one operation writes; apply() sends it as one statement.
class change_set {
 public:
  explicit change_set(level_map& levels, std::string correlation)
      : levels_(levels), correlation_(std::move(correlation)) {}

  // Applies a delta to a locked level and records its ledger row; returns the movement id
  // (empty when both deltas are 0: an alert re-evaluation writes no ledger row).
  std::string touch(const level_key& key, int64_t dq, int64_t dr, const std::string& movement_type,
                    const std::string& change_type, const std::string& reference, const std::string& notes);

  // The correlation id of what follows (events, stock_changed of the levels touched next): one
  // change set may carry several orders' reservations (reserve_batch).
  void set_correlation(std::string correlation) { correlation_ = std::move(correlation); }

  void insert_reservation(const std::string& id, const std::string& order_id, const std::string& expires_at,
                          const allocation& a) {
    ri_.push_back({id, order_id, expires_at, a});
  }
  // New status (and quantity when > 0, for partial fulfilment) of an existing reservation.
  void close_reservation(const std::string& id, const std::string& status, const std::string& reason,
                         int64_t new_quantity = 0) {
    rc_.push_back({id, status, reason, new_quantity});
  }
  void add_event(const std::string& name, const nlohmann::json& payload, const std::string& aggregate);
  void add_event(const std::string& name, const nlohmann::json& payload, const std::string& aggregate,
                 const std::string& correlation);

  // Level deltas, stock_changed per touched level, alert transitions; then one statement.
  void apply(pqxx::work& tx);

  bool empty() const noexcept { return order_.empty() && rc_.empty() && ri_.empty() && ev_.empty(); }

 private:
  struct movement {
    std::string id, product_id, warehouse_id, type;
    int64_t dq, dr, q_after, r_after;
    std::string reference, notes;
  };
  struct close {
    std::string id, status, reason;
    int64_t quantity;
  };
  struct new_reservation {
    std::string id, order_id, expires_at;
    allocation a;
  };
  level_map& levels_;
  std::string correlation_;
  std::map<level_key, level_row> before_;
  std::vector<level_key> order_;
  std::map<level_key, std::string> change_type_;
  std::map<level_key, std::string> level_correlation_;  // of the level's last touch
  std::vector<movement> mv_;
  std::vector<new_reservation> ri_;
  std::vector<close> rc_;
  std::vector<std::pair<event, std::string>> ev_;
};

}  // namespace mercato::inventory::store
