// inventory's rules as plain C++ (no SQL, no actors): line aggregation, the warehouse choice of a
// reservation, the "same reservation set" test of reserve_stock's idempotency, and low-stock alert
// transitions. The store feeds them rows it has locked, so their answers hold until commit.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mercato::inventory {

// One warehouse of the register (inventory.warehouses mirrors the warehouse agent's).
struct warehouse_info {
  std::string warehouse_id;
  std::string code;
  std::string name;
  bool is_active = true;
  int64_t priority = 100;
};

// The register, ordered by code; lookups by id or code.
class warehouse_register {
 public:
  warehouse_register() = default;
  explicit warehouse_register(std::vector<warehouse_info> rows);

  const warehouse_info* find(const std::string& id_or_code) const;
  const warehouse_info* by_id(const std::string& id) const;
  // The first active warehouse by code (receive_stock's default), or null.
  const warehouse_info* default_warehouse() const;
  const std::vector<warehouse_info>& all() const noexcept { return rows_; }
  bool empty() const noexcept { return rows_.empty(); }

 private:
  std::vector<warehouse_info> rows_;
};

// A stock level row as locked by the store.
struct level_row {
  std::string product_id;
  std::string warehouse_id;
  int64_t quantity = 0;
  int64_t reserved = 0;
  int64_t reorder_point = 10;
  int64_t max_stock = 1000;
  std::string alert_state = "none";  // none | warning | critical
  int64_t available() const noexcept { return quantity - reserved; }
};

using level_key = std::pair<std::string, std::string>;  // (product_id, warehouse_id)
using level_map = std::map<level_key, level_row>;

// A requested quantity of an item, pinned to a resolved warehouse id or not (empty).
struct demand {
  std::string product_id;
  std::string warehouse_id;
  int64_t quantity = 0;
};

// Sums lines for the same (item, warehouse) — pinned and unpinned lines stay apart — keeping the
// first-seen order.
std::vector<demand> aggregate(const std::vector<demand>& lines);

// Where each demand is served from, or why it cannot be.
struct allocation {
  std::string product_id;
  std::string warehouse_id;
  int64_t quantity = 0;
};
struct shortage {
  std::string product_id;
  std::string warehouse_id;  // the warehouse that came closest (pinned, or the best one)
  int64_t requested = 0;
  int64_t available = 0;        // in that warehouse
  int64_t total_available = 0;  // over all active warehouses
};
struct reservation_plan {
  std::vector<allocation> allocations;  // one per (item, warehouse), summed
  std::optional<shortage> missing;      // set: nothing may be reserved
};

// The contract's warehouse choice: pinned demands use their warehouse; the others prefer one active
// warehouse that can serve every unpinned demand (by priority, then code), else per item the
// warehouse with the largest available quantity (ties by code). Never splits a line. All-or-nothing.
reservation_plan plan_reservation(const std::vector<demand>& demands, const level_map& levels,
                                  const warehouse_register& warehouses, bool prefer_single_warehouse);

// Same set (reserve_stock idempotency): per item the same total quantity, and pinned demands hold
// their warehouse. `existing` is the order's live reservations.
bool same_reservation_set(const std::vector<demand>& requested,
                          const std::vector<allocation>& existing);

// Low-stock state of a level: critical when nothing is available, warning when 0 < available ≤
// reorder point, none above it.
std::string alert_state_for(int64_t available, int64_t reorder_point);

enum class alert_transition { none, opened, level_changed, resolved };
struct alert_change {
  alert_transition transition = alert_transition::none;
  std::string new_state;  // none | warning | critical
};
// What a write from `before` state to `available_after` does to the level's alert.
alert_change evaluate_alert(const std::string& before, int64_t available_after, int64_t reorder_point);

// max(0, max_stock − quantity)
int64_t suggested_reorder_quantity(int64_t max_stock, int64_t quantity);

// Movement types of POST /inventory/move and the sign rule: inbound/return > 0, outbound/transfer < 0,
// adjustment either; never 0. Returns an error text or empty.
std::string check_move(const std::string& movement_type, int64_t quantity_change);

}  // namespace mercato::inventory
