// inventory's rules (see stock_rules.hpp).
#include "inventory/stock_rules.hpp"

#include <algorithm>
#include <set>

namespace mercato::inventory {

warehouse_register::warehouse_register(std::vector<warehouse_info> rows) : rows_(std::move(rows)) {
  std::sort(rows_.begin(), rows_.end(),
            [](const warehouse_info& a, const warehouse_info& b) { return a.code < b.code; });
}

const warehouse_info* warehouse_register::by_id(const std::string& id) const {
  for (const auto& w : rows_)
    if (w.warehouse_id == id) return &w;
  return nullptr;
}

const warehouse_info* warehouse_register::find(const std::string& id_or_code) const {
  if (auto* w = by_id(id_or_code)) return w;
  for (const auto& w : rows_)
    if (w.code == id_or_code) return &w;
  return nullptr;
}

const warehouse_info* warehouse_register::default_warehouse() const {
  for (const auto& w : rows_)
    if (w.is_active) return &w;
  return nullptr;
}

std::vector<demand> aggregate(const std::vector<demand>& lines) {
  std::vector<demand> out;
  for (const auto& l : lines) {
    auto it = std::find_if(out.begin(), out.end(), [&](const demand& d) {
      return d.product_id == l.product_id && d.warehouse_id == l.warehouse_id;
    });
    if (it == out.end())
      out.push_back(l);
    else
      it->quantity += l.quantity;
  }
  return out;
}

namespace {

int64_t available_at(const level_map& levels, const std::string& product, const std::string& wh) {
  auto it = levels.find({product, wh});
  return it == levels.end() ? 0 : it->second.available();
}

int64_t total_active(const level_map& levels, const warehouse_register& warehouses,
                     const std::string& product) {
  int64_t total = 0;
  for (const auto& w : warehouses.all())
    if (w.is_active) total += std::max<int64_t>(0, available_at(levels, product, w.warehouse_id));
  return total;
}

}  // namespace

reservation_plan plan_reservation(const std::vector<demand>& demands, const level_map& levels,
                                  const warehouse_register& warehouses, bool prefer_single_warehouse) {
  reservation_plan plan;
  // What is still free per (item, warehouse) after the demands placed so far.
  std::map<level_key, int64_t> taken;
  auto free_at = [&](const std::string& p, const std::string& w) {
    return available_at(levels, p, w) - taken[{p, w}];
  };
  auto fail = [&](const demand& d, const std::string& wh) {
    plan.allocations.clear();
    plan.missing = shortage{d.product_id, wh, d.quantity, std::max<int64_t>(0, free_at(d.product_id, wh)),
                            total_active(levels, warehouses, d.product_id)};
    return plan;
  };

  std::vector<const demand*> open;
  for (const auto& d : demands) {
    if (d.warehouse_id.empty()) {
      open.push_back(&d);
      continue;
    }
    if (free_at(d.product_id, d.warehouse_id) < d.quantity) return fail(d, d.warehouse_id);
    taken[{d.product_id, d.warehouse_id}] += d.quantity;
  }

  // Unpinned demands of one item are served from one warehouse: sum them per item first.
  std::vector<demand> items;
  for (const auto* d : open) {
    auto it = std::find_if(items.begin(), items.end(),
                           [&](const demand& x) { return x.product_id == d->product_id; });
    if (it == items.end())
      items.push_back(*d);
    else
      it->quantity += d->quantity;
  }

  std::vector<const warehouse_info*> active;
  for (const auto& w : warehouses.all())
    if (w.is_active) active.push_back(&w);
  std::stable_sort(active.begin(), active.end(), [](const warehouse_info* a, const warehouse_info* b) {
    return a->priority < b->priority;
  });

  std::map<std::string, std::string> chosen;  // item → warehouse
  if (prefer_single_warehouse && !items.empty()) {
    for (const auto* w : active) {
      bool serves_all = std::all_of(items.begin(), items.end(), [&](const demand& d) {
        return free_at(d.product_id, w->warehouse_id) >= d.quantity;
      });
      if (serves_all) {
        for (const auto& d : items) chosen[d.product_id] = w->warehouse_id;
        break;
      }
    }
  }
  for (const auto& d : items) {
    if (chosen.count(d.product_id)) continue;
    const warehouse_info* best = nullptr;
    int64_t best_free = -1;
    for (const auto& w : warehouses.all()) {  // by code: the first of equals wins the tie
      if (!w.is_active) continue;
      int64_t f = free_at(d.product_id, w.warehouse_id);
      if (f > best_free) {
        best_free = f;
        best = &w;
      }
    }
    if (!best) return fail(d, {});
    if (best_free < d.quantity) return fail(d, best->warehouse_id);
    chosen[d.product_id] = best->warehouse_id;
    taken[{d.product_id, best->warehouse_id}] += d.quantity;
  }

  // Allocations summed per (item, warehouse): one reservation row each.
  std::vector<demand> all;
  for (const auto& d : demands)
    if (!d.warehouse_id.empty()) all.push_back(d);
  for (const auto& d : items) all.push_back({d.product_id, chosen[d.product_id], d.quantity});
  for (const auto& d : aggregate(all)) plan.allocations.push_back({d.product_id, d.warehouse_id, d.quantity});
  return plan;
}

bool same_reservation_set(const std::vector<demand>& requested,
                          const std::vector<allocation>& existing) {
  std::map<std::string, int64_t> want, have;
  for (const auto& d : requested) want[d.product_id] += d.quantity;
  for (const auto& a : existing) have[a.product_id] += a.quantity;
  if (want != have) return false;
  for (const auto& d : requested) {
    if (d.warehouse_id.empty()) continue;
    int64_t held = 0;
    for (const auto& a : existing)
      if (a.product_id == d.product_id && a.warehouse_id == d.warehouse_id) held += a.quantity;
    if (held < d.quantity) return false;
  }
  return true;
}

std::string alert_state_for(int64_t available, int64_t reorder_point) {
  if (available <= 0) return "critical";
  if (available <= reorder_point) return "warning";
  return "none";
}

alert_change evaluate_alert(const std::string& before, int64_t available_after, int64_t reorder_point) {
  alert_change c;
  c.new_state = alert_state_for(available_after, reorder_point);
  if (c.new_state == before)
    c.transition = alert_transition::none;
  else if (before == "none")
    c.transition = alert_transition::opened;
  else if (c.new_state == "none")
    c.transition = alert_transition::resolved;
  else
    c.transition = alert_transition::level_changed;
  return c;
}

int64_t suggested_reorder_quantity(int64_t max_stock, int64_t quantity) {
  return std::max<int64_t>(0, max_stock - quantity);
}

std::string check_move(const std::string& movement_type, int64_t quantity_change) {
  if (quantity_change == 0) return "quantity_change must not be 0";
  if ((movement_type == "inbound" || movement_type == "return") && quantity_change < 0)
    return "quantity_change must be positive for " + movement_type + " movements";
  if ((movement_type == "outbound" || movement_type == "transfer") && quantity_change > 0)
    return "quantity_change must be negative for " + movement_type + " movements";
  return {};
}

}  // namespace mercato::inventory
