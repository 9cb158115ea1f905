// SQL of the inventory schema (see inventory_store.hpp): every write, the reservation path and its
// reads. The reads behind REST listings, reports and analytics are in inventory_reports.cpp.
#include "inventory/inventory_store.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "db/hot_statement.hpp"
#include "inventory/sql_text.hpp"
#include "mercato/event.hpp"
#include "runtime/clock.hpp"
#include "runtime/uuid.hpp"

namespace mercato::inventory::store {

namespace {

failure fail(failure_kind kind, std::string code, std::string message, nlohmann::json detail = nullptr) {
  return failure{kind, std::move(code), std::move(message), detail.is_null() ? std::string{} : detail.dump()};
}

movement_record to_record(const std::string& id, const level_row& l, int64_t dq) {
  return movement_record{id, l.product_id, l.warehouse_id, dq, l.quantity, l.available()};
}

// stock_movement_recorded for a ledger row that changed on-hand units (reservation and release
// rows only move reserved units: stock_reserved / stock_released describe those).
void movement_event(change_set& cs, const movement_record& m, const std::string& movement_type,
                    const std::string& reference) {
  cs.add_event("stock_movement_recorded",
               {{"movement_id", m.movement_id}, {"product_id", m.product_id}, {"warehouse_id", m.warehouse_id},
                {"movement_type", movement_type}, {"quantity_change", m.quantity_change},
                {"quantity_after", m.quantity_after}, {"available_after", m.available_after},
                {"reference_id", reference}},
               m.product_id);
}

struct live_reservation {
  std::string reservation_id, order_id, product_id, warehouse_id, status, expires_at;
  int64_t quantity = 0;
  bool past_expiry = false;
};

reservation to_reservation(const live_reservation& r) {
  return reservation{r.reservation_id, r.product_id, r.warehouse_id, r.quantity, r.status, r.expires_at};
}

const char* reservation_columns =
    "reservation_id::text, order_id, product_id, warehouse_id::text, quantity, status,"
    " COALESCE(" INVENTORY_ISO("expires_at") ", ''), (status = 'active' AND expires_at <= now())";

live_reservation read_reservation(const pqxx::row& r) {
  return live_reservation{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                          r[3].as<std::string>(), r[5].as<std::string>(), r[6].as<std::string>(),
                          r[4].as<int64_t>(),     r[7].as<bool>()};
}

// The order's reservations in `statuses`, locked when `lock` (after the levels: lock order).
std::vector<live_reservation> order_reservations(pqxx::work& tx, const std::string& order_id,
                                                 const std::vector<std::string>& statuses, bool lock) {
  std::vector<live_reservation> out;
  auto rows = prep(tx,
                   std::string{"SELECT "} + reservation_columns +
                       " FROM inventory.reservations WHERE order_id = $1 AND status = ANY($2::text[])"
                       " ORDER BY product_id, warehouse_id, reservation_id" +
                       (lock ? " FOR UPDATE" : ""),
                   {order_id, text_array(statuses)});
  for (const auto& r : rows) out.push_back(read_reservation(r));
  return out;
}

std::vector<live_reservation> reservations_by_id(pqxx::work& tx, const std::vector<std::string>& ids,
                                                 bool lock) {
  std::vector<live_reservation> out;
  auto rows = run(tx,
                  std::string{"SELECT "} + reservation_columns +
                      " FROM inventory.reservations WHERE reservation_id = ANY($1::uuid[])"
                      " ORDER BY product_id, warehouse_id, reservation_id" +
                      (lock ? " FOR UPDATE" : ""),
                  {text_array(ids)});
  for (const auto& r : rows) out.push_back(read_reservation(r));
  return out;
}

std::vector<std::string> products_of(const std::vector<live_reservation>& rs) {
  std::set<std::string> s;
  for (const auto& r : rs) s.insert(r.product_id);
  return {s.begin(), s.end()};
}

// Closes `rows` (released / expired): reserved drops, ledger row 'release', one event per order.
void close_reservations(change_set& cs, const std::vector<live_reservation>& rows,
                        const std::string& status, const std::string& reason) {
  for (const auto& r : rows) {
    cs.touch({r.product_id, r.warehouse_id}, 0, -r.quantity, "release", "release",
             "reservation:" + r.reservation_id, reason);
    cs.close_reservation(r.reservation_id, status, reason);
  }
  std::map<std::string, std::vector<const live_reservation*>> by_order;
  for (const auto& r : rows) by_order[r.order_id].push_back(&r);
  for (const auto& [order, rs] : by_order) {
    nlohmann::json ids = nlohmann::json::array(), products = nlohmann::json::array();
    for (const auto* r : rs) {
      ids.push_back(r->reservation_id);
      products.push_back(r->product_id);
    }
    if (status == "expired")
      cs.add_event("reservation_expired",
                   {{"order_id", order}, {"reservation_ids", ids}, {"product_ids", products}}, order);
    else
      cs.add_event("stock_released",
                   {{"order_id", order}, {"reservation_ids", ids}, {"reason", reason}}, order);
  }
}

nlohmann::json reservations_json(const std::vector<reservation>& rs) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& r : rs)
    a.push_back({{"reservation_id", r.reservation_id}, {"product_id", r.product_id},
                 {"warehouse_id", r.warehouse_id}, {"quantity", r.quantity}, {"status", r.status},
                 {"expires_at", r.expires_at.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.expires_at)}});
  return a;
}

// Resolves every line's warehouse (id or code) to an id; unknown → invalid unknown_warehouse.
std::optional<failure> resolve_lines(const std::vector<stock_line>& lines, const warehouse_register& reg,
                                     std::vector<demand>& out) {
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& l = lines[i];
    if (l.product_id.empty() || l.product_id.size() > 100)
      return fail(failure_kind::invalid, "invalid", "product_id is required", {{"index", i}});
    if (l.quantity <= 0 || l.quantity > 1'000'000)
      return fail(failure_kind::invalid, "invalid", "quantity must be between 1 and 1000000",
                  {{"index", i}, {"product_id", l.product_id}});
    std::string wh;
    if (!l.warehouse_id.empty()) {
      auto* w = reg.find(l.warehouse_id);
      if (!w)
        return fail(failure_kind::invalid, "unknown_warehouse", "Warehouse not found: " + l.warehouse_id,
                    {{"warehouse_id", l.warehouse_id}});
      wh = w->warehouse_id;
    }
    out.push_back({l.product_id, wh, l.quantity});
  }
  return std::nullopt;
}

std::string iso_after(int64_t seconds) {
  return clock::iso8601(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

}  // namespace

warehouse_register load_warehouses(pqxx::transaction_base& tx) {
  std::vector<warehouse_info> rows;
  for (const auto& r : tx.exec("SELECT warehouse_id::text, code, name, is_active, priority"
                               " FROM inventory.warehouses"))
    rows.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                    r[3].as<bool>(), r[4].as<int64_t>()});
  return warehouse_register{std::move(rows)};
}

namespace {

// The report of one request's `demands` (resolved) from `levels`, which hold at least their items.
result<availability_report> availability_of(const std::vector<demand>& demands, const level_map& levels,
                                            const warehouse_register& reg) {
  result<availability_report> out;
  auto& report = out.value;
  report.all_available = true;
  for (const auto& d : demands) {
    bool known = false;
    line_availability la;
    la.product_id = d.product_id;
    la.requested = d.quantity;
    for (const auto& w : reg.all()) {
      auto it = levels.find({d.product_id, w.warehouse_id});
      if (it == levels.end()) continue;
      known = true;
      if (!w.is_active) continue;
      if (!d.warehouse_id.empty() && d.warehouse_id != w.warehouse_id) continue;
      int64_t a = std::max<int64_t>(0, it->second.available());
      la.total_available += a;
      la.warehouses.push_back({w.warehouse_id, w.code, a});
    }
    if (!known) {
      out.error = fail(failure_kind::invalid, "unknown_item", "Unknown item: " + d.product_id,
                       {{"product_id", d.product_id}});
      return out;
    }
    la.available = std::any_of(la.warehouses.begin(), la.warehouses.end(),
                               [&](const warehouse_available& w) { return w.available >= d.quantity; });
    report.all_available = report.all_available && la.available;
    report.lines.push_back(std::move(la));
  }
  // One warehouse that serves every line (summed per item), by priority then code.
  auto agg = aggregate(demands);
  std::vector<const warehouse_info*> active;
  for (const auto& w : reg.all())
    if (w.is_active) active.push_back(&w);
  std::stable_sort(active.begin(), active.end(),
                   [](const warehouse_info* a, const warehouse_info* b) { return a->priority < b->priority; });
  std::map<std::string, int64_t> per_item;
  for (const auto& d : agg) per_item[d.product_id] += d.quantity;
  for (const auto* w : active) {
    bool ok = std::all_of(per_item.begin(), per_item.end(), [&](const auto& kv) {
      auto it = levels.find({kv.first, w->warehouse_id});
      return it != levels.end() && it->second.available() >= kv.second;
    });
    bool pinned_elsewhere = std::any_of(agg.begin(), agg.end(), [&](const demand& d) {
      return !d.warehouse_id.empty() && d.warehouse_id != w->warehouse_id;
    });
    if (ok && !pinned_elsewhere) {
      report.single_warehouse_id = w->warehouse_id;
      break;
    }
  }
  return out;
}

}  // namespace

std::vector<result<availability_report>> check_availability(pqxx::transaction_base& tx,
                                                            const std::vector<std::vector<stock_line>>& requests,
                                                            const warehouse_register& reg) {
  std::vector<result<availability_report>> out(requests.size());
  std::vector<std::vector<demand>> demands(requests.size());
  std::vector<std::string> products;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (auto f = resolve_lines(requests[i], reg, demands[i])) {
      out[i].error = f;
      continue;
    }
    for (const auto& d : demands[i]) products.push_back(d.product_id);
  }
  if (products.empty()) return out;
  std::sort(products.begin(), products.end());
  products.erase(std::unique(products.begin(), products.end()), products.end());
  level_map levels;
  for (const auto& r : prep(tx, "SELECT product_id, warehouse_id::text, quantity, reserved_quantity"
                           " FROM inventory.stock_levels WHERE product_id = ANY(" MERCATO_OPAQUE_PARAM("$1", "text[]") ")",
                           {text_array(products)})) {
    level_row l;
    l.product_id = r[0].as<std::string>();
    l.warehouse_id = r[1].as<std::string>();
    l.quantity = r[2].as<int64_t>();
    l.reserved = r[3].as<int64_t>();
    levels.emplace(level_key{l.product_id, l.warehouse_id}, l);
  }
  for (size_t i = 0; i < requests.size(); ++i)
    if (!out[i].error) out[i] = availability_of(demands[i], levels, reg);
  return out;
}

result<availability_report> check_availability(pqxx::transaction_base& tx, const std::vector<stock_line>& lines,
                                               const warehouse_register& reg) {
  return std::move(check_availability(tx, std::vector<std::vector<stock_line>>{lines}, reg).front());
}

namespace {

// A reserve request checked and reduced to what the locks and the plan need.
struct reserve_input {
  const reserve_stock* req = nullptr;
  std::vector<demand> demands;         // aggregated per (item, pinned warehouse)
  std::set<std::string> product_set;
};

std::optional<failure> validate_reserve(const reserve_stock& req, const warehouse_register& reg,
                                        reserve_input& in) {
  if (req.order_id.empty() || req.order_id.size() > 100)
    return fail(failure_kind::invalid, "invalid", "order_id must be 1..100 characters");
  if (req.lines.empty()) return fail(failure_kind::invalid, "invalid", "lines must not be empty");
  // ttl ≥ 1 s is accepted from typed callers (tests use short TTLs); the contract's floor of 60 s
  // applies to REST input, which validates it before coming here.
  if (req.ttl_seconds < 1 || req.ttl_seconds > 604800)
    return fail(failure_kind::invalid, "invalid", "ttl_seconds must be between 1 and 604800");
  in.req = &req;
  if (auto f = resolve_lines(req.lines, reg, in.demands)) return f;
  in.demands = aggregate(in.demands);
  for (const auto& d : in.demands) in.product_set.insert(d.product_id);
  return std::nullopt;
}

// The transaction-scoped advisory locks of `order_ids` (one order's reserves run one at a time, so
// a retry sees the first one's set), taken in hash order so two batches cannot deadlock; sets
// lock_timeout 3 s first.
void lock_orders(pqxx::work& tx, const std::vector<std::string>& order_ids) {
  prep(tx,
       "SELECT set_config('lock_timeout', '3s', true),"
       " (SELECT count(pg_advisory_xact_lock(h)) FROM (SELECT DISTINCT hashtextextended(o, 2002) AS h"
       "   FROM unnest($1::text[]) AS o ORDER BY 1) AS s)",
       {text_array(order_ids)});
}

// Row locks on every level of `products` (in key order) with the orders' live reservations.
void lock_levels_and_reservations(pqxx::work& tx, const std::vector<std::string>& products,
                                  const std::vector<std::string>& order_ids, level_map& levels,
                                  std::map<std::string, std::vector<live_reservation>>& existing) {
  auto rows = prep(
      tx,
      "WITH l AS (SELECT product_id, warehouse_id, quantity, reserved_quantity, reorder_point, max_stock,"
      "   alert_state FROM inventory.stock_levels WHERE product_id = ANY(" MERCATO_OPAQUE_PARAM("$1", "text[]") ")"
      "   ORDER BY product_id, warehouse_id FOR UPDATE)"
      " SELECT 'L', product_id, warehouse_id::text, quantity, reserved_quantity, reorder_point, max_stock,"
      "   alert_state, '', '', false, '' FROM l"
      " UNION ALL"
      " SELECT 'R', product_id, warehouse_id::text, quantity, 0, 0, 0, status, reservation_id::text,"
      "   COALESCE(" INVENTORY_ISO("expires_at") ", ''), (status = 'active' AND expires_at <= now()), order_id"
      " FROM inventory.reservations WHERE order_id = ANY(" MERCATO_OPAQUE_PARAM("$2", "text[]") ")"
      "   AND status IN ('active', 'confirmed')",
      {text_array(products), text_array(order_ids)});
  for (const auto& r : rows) {
    if (r[0].as<std::string>() == "L") {
      level_row l{r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<int64_t>(), r[4].as<int64_t>(),
                  r[5].as<int64_t>(),     r[6].as<int64_t>(),     r[7].as<std::string>()};
      levels.emplace(level_key{l.product_id, l.warehouse_id}, std::move(l));
    } else {
      auto order = r[11].as<std::string>();
      existing[order].push_back({r[8].as<std::string>(), order, r[1].as<std::string>(), r[2].as<std::string>(),
                                 r[7].as<std::string>(), r[9].as<std::string>(), r[3].as<int64_t>(),
                                 r[10].as<bool>()});
    }
  }
}

// What an order's live reservations mean for a new reserve of it.
enum class prior { none, replayed, conflict, stale };

// `existing`: the order's live set (of the requested items when per_item). An unexpired set is
// replayed when it matches the demand; a set partly or wholly past its TTL the sweeper has not
// expired yet is `stale` (expire it, then reserve afresh) unless part of it is still live.
prior judge_prior(const reserve_input& in, const std::vector<live_reservation>& existing,
                  result<reservation_set>& out) {
  if (existing.empty()) return prior::none;
  const bool stale = std::any_of(existing.begin(), existing.end(), [](const auto& r) { return r.past_expiry; });
  const bool live = std::any_of(existing.begin(), existing.end(), [](const auto& r) { return !r.past_expiry; });
  if (stale && !live) return prior::stale;
  std::vector<allocation> held;
  for (const auto& r : existing) held.push_back({r.product_id, r.warehouse_id, r.quantity});
  if (stale || !same_reservation_set(in.demands, held)) {
    // (stale and live together: a new set would overlap the live part)
    out.error = fail(failure_kind::conflict, "conflict", "The order already holds a different reservation set",
                     {{"order_id", in.req->order_id}});
    return prior::conflict;
  }
  for (const auto& r : existing) out.value.reservations.push_back(to_reservation(r));
  out.value.replayed = true;
  return prior::replayed;
}

std::optional<failure> unknown_item(const reserve_input& in, const level_map& levels) {
  for (const auto& p : in.product_set) {
    auto it = levels.lower_bound({p, ""});
    if (it == levels.end() || it->first.first != p)
      return fail(failure_kind::invalid, "unknown_item", "Unknown item: " + p, {{"product_id", p}});
  }
  return std::nullopt;
}

// Plans the order on the locked `levels` (which earlier orders of the change set already moved)
// and adds its reservations, ledger rows and stock_reserved event to `cs`; insufficient stock →
// conflict with the numbers, nothing added.
void add_reservation(change_set& cs, const reserve_input& in, const level_map& levels,
                     const warehouse_register& reg, result<reservation_set>& out) {
  const auto& req = *in.req;
  auto plan = plan_reservation(in.demands, levels, reg, req.prefer_single_warehouse);
  if (plan.missing) {
    const auto& m = *plan.missing;
    auto* w = reg.by_id(m.warehouse_id);
    out.error = fail(failure_kind::conflict, "insufficient_stock",
                     fmt::format("Insufficient stock for product {}: requested {}, available {}",
                                 m.product_id, m.requested, m.available),
                     {{"product_id", m.product_id}, {"warehouse_id", m.warehouse_id},
                      {"warehouse_code", w ? w->code : ""}, {"requested", m.requested},
                      {"available", m.available}, {"total_available", m.total_available}});
    return;
  }
  cs.set_correlation(req.order_id);
  const auto expires = iso_after(req.ttl_seconds);
  for (const auto& a : plan.allocations) {
    auto id = uuid_v4();
    cs.touch({a.product_id, a.warehouse_id}, 0, a.quantity, "reservation", "reservation",
             "reservation:" + id, "order " + req.order_id);
    cs.insert_reservation(id, req.order_id, expires, a);
    out.value.reservations.push_back(reservation{id, a.product_id, a.warehouse_id, a.quantity, "active", expires});
  }
  cs.add_event("stock_reserved",
               {{"order_id", req.order_id}, {"reservations", reservations_json(out.value.reservations)}},
               req.order_id);
}

std::vector<live_reservation> of_items(std::vector<live_reservation> rows, const std::set<std::string>& items) {
  rows.erase(std::remove_if(rows.begin(), rows.end(), [&](const auto& r) { return !items.count(r.product_id); }),
             rows.end());
  return rows;
}

}  // namespace

result<reservation_set> reserve(pqxx::work& tx, const reserve_stock& req, const warehouse_register& reg,
                                bool per_item) {
  result<reservation_set> out;
  out.value.order_id = req.order_id;
  reserve_input in;
  if ((out.error = validate_reserve(req, reg, in))) return out;
  lock_orders(tx, {req.order_id});
  level_map levels;
  std::map<std::string, std::vector<live_reservation>> by_order;
  const std::vector<std::string> products{in.product_set.begin(), in.product_set.end()};
  lock_levels_and_reservations(tx, products, {req.order_id}, levels, by_order);
  auto existing = by_order[req.order_id];
  if (per_item) existing = of_items(std::move(existing), in.product_set);
  if ((out.error = unknown_item(in, levels))) return out;
  const auto prior_set = judge_prior(in, existing, out);
  if (prior_set == prior::replayed || prior_set == prior::conflict) return out;
  if (prior_set == prior::stale) {
    // The order's previous set outlived its TTL and the sweeper has not run yet: expire it here
    // (its levels are locked first, in order), then reserve afresh.
    auto more = lock_levels(tx, products_of(existing), false);
    levels.insert(more.begin(), more.end());
    // Re-read under lock: the sweeper may have expired them while this waited for the levels.
    std::vector<live_reservation> still_active;
    for (auto& r : order_reservations(tx, req.order_id, {"active"}, true))
      if (r.past_expiry && (!per_item || in.product_set.count(r.product_id))) still_active.push_back(std::move(r));
    if (!still_active.empty()) {
      change_set expire{levels, req.order_id};
      close_reservations(expire, still_active, "expired", "ttl");
      expire.apply(tx);
    }
  }
  change_set cs{levels, req.order_id};
  add_reservation(cs, in, levels, reg, out);  // (a stale set expired above stays expired either way)
  if (out.ok()) cs.apply(tx);
  return out;
}

std::vector<result<reservation_set>> reserve_batch(pqxx::work& tx, const std::vector<reserve_stock>& reqs,
                                                   const warehouse_register& reg) {
  if (reqs.size() == 1) return {reserve(tx, reqs.front(), reg)};
  std::vector<result<reservation_set>> out(reqs.size());
  std::vector<reserve_input> inputs(reqs.size());
  std::vector<size_t> batched, alone;  // alone: after the batch's write, one by one (see below)
  std::set<std::string> orders, products;
  for (size_t i = 0; i < reqs.size(); ++i) {
    out[i].value.order_id = reqs[i].order_id;
    if ((out[i].error = validate_reserve(reqs[i], reg, inputs[i]))) continue;
    if (!orders.insert(reqs[i].order_id).second) {
      alone.push_back(i);  // the same order twice: the second must see the first one's set
      continue;
    }
    batched.push_back(i);
    products.insert(inputs[i].product_set.begin(), inputs[i].product_set.end());
  }
  if (batched.empty()) return out;
  const std::vector<std::string> order_ids{orders.begin(), orders.end()};
  lock_orders(tx, order_ids);
  level_map levels;
  std::map<std::string, std::vector<live_reservation>> by_order;
  lock_levels_and_reservations(tx, {products.begin(), products.end()}, order_ids, levels, by_order);
  // Orders in arrival order on one view of the locked levels: each plan sees what the earlier
  // orders of the batch took, and one statement writes them all.
  change_set cs{levels, ""};
  for (size_t i : batched) {
    const auto& in = inputs[i];
    if ((out[i].error = unknown_item(in, levels))) continue;
    const auto prior_set = judge_prior(in, by_order[reqs[i].order_id], out[i]);
    if (prior_set == prior::stale)
      alone.push_back(i);  // expiring first needs its own change set: reserve() does it
    else if (prior_set == prior::none)
      add_reservation(cs, in, levels, reg, out[i]);
  }
  if (!cs.empty()) cs.apply(tx);
  // Rare: a stale set to expire, or an order twice in the batch. reserve() re-reads the levels
  // under the locks this transaction already holds, so it sees the batch's write.
  std::sort(alone.begin(), alone.end());
  for (size_t i : alone)
    if (out[i].ok()) out[i] = reserve(tx, reqs[i], reg);
  return out;
}

result<reservation_set> extend(pqxx::work& tx, const std::string& order_id, int64_t ttl_seconds) {
  result<reservation_set> out;
  out.value.order_id = order_id;
  if (ttl_seconds < 1 || ttl_seconds > 604800) {
    out.error = fail(failure_kind::invalid, "invalid", "ttl_seconds must be between 1 and 604800");
    return out;
  }
  // Only unexpired active rows move; confirmed rows have no expiry to extend.
  auto rows = run(tx,
                  std::string{"UPDATE inventory.reservations SET expires_at = $2::timestamptz,"
                              " updated_at = now() WHERE order_id = $1 AND status = 'active'"
                              " AND expires_at > now() RETURNING "} +
                      reservation_columns,
                  {order_id, iso_after(ttl_seconds)});
  for (const auto& r : rows) out.value.reservations.push_back(to_reservation(read_reservation(r)));
  for (const auto& r : order_reservations(tx, order_id, {"confirmed"}, false))
    out.value.reservations.push_back(to_reservation(r));
  if (out.value.reservations.empty())
    out.error = fail(failure_kind::not_found, "not_found", "No live reservations for order " + order_id,
                     {{"order_id", order_id}});
  return out;
}

result<reservation_set> confirm(pqxx::work& tx, const std::string& order_id,
                                const std::vector<std::string>& reservation_ids) {
  result<reservation_set> out;
  out.value.order_id = order_id;
  // Locks the rows (the sweeper skips locked rows), then decides on their latest state.
  auto rows = reservation_ids.empty()
                  ? order_reservations(tx, order_id, {"active", "confirmed", "expired"}, true)
                  : reservations_by_id(tx, reservation_ids, true);
  std::vector<live_reservation> live, expired;
  for (auto& r : rows) {
    if (r.status == "expired" || r.past_expiry)
      expired.push_back(r);
    else if (r.status == "active" || r.status == "confirmed")
      live.push_back(r);
    else if (!reservation_ids.empty()) {
      out.error = fail(failure_kind::conflict, "conflict", "Reservation already " + r.status,
                       {{"reservation_id", r.reservation_id}, {"status", r.status}});
      return out;
    }
  }
  // An expired row only matters when nothing live replaced it (a later reserve of the same order).
  bool any_stale_live = std::any_of(rows.begin(), rows.end(), [](const auto& r) { return r.past_expiry; });
  if (any_stale_live || (live.empty() && !expired.empty())) {
    nlohmann::json lines = nlohmann::json::array();
    for (const auto& r : expired)
      lines.push_back({{"reservation_id", r.reservation_id}, {"product_id", r.product_id},
                       {"warehouse_id", r.warehouse_id}, {"quantity", r.quantity}});
    out.error = fail(failure_kind::conflict, "expired", "Reservation expired", {{"lines", lines}});
    return out;
  }
  if (live.empty()) {
    out.error = fail(failure_kind::not_found, "not_found", "No reservations for order " + order_id,
                     {{"order_id", order_id}});
    return out;
  }
  std::vector<std::string> ids;
  for (const auto& r : live)
    if (r.status == "active") ids.push_back(r.reservation_id);
  if (!ids.empty())
    prep(tx,
         "UPDATE inventory.reservations SET status = 'confirmed', expires_at = NULL, updated_at = now()"
         " WHERE reservation_id = ANY($1::uuid[])",
         {text_array(ids)});
  for (auto& r : live) {
    r.status = "confirmed";
    r.expires_at.clear();
    out.value.reservations.push_back(to_reservation(r));
    if (out.value.order_id.empty()) out.value.order_id = r.order_id;
  }
  return out;
}

std::vector<std::optional<reservation_set>> confirm_all_active(pqxx::transaction_base& tx,
                                                               const std::vector<std::string>& order_ids) {
  // `mine` locks the rows confirm() would lock (in one global order, so that two batches never
  // wait on each other crosswise) and sees their latest state (a sweep that committed meanwhile
  // shows as 'expired'); `ready` keeps the orders whose rows are all active and unexpired, so each
  // order is confirmed whole or not at all, and never on a row the sweeper closed. The update takes
  // its rows from `mine` by primary key: they are locked, so their status there is current, and
  // no status predicate on the table is left for a generic plan to drive from the sweep's index of
  // all active reservations.
  auto rows = prep(tx,
                   "WITH mine AS (SELECT reservation_id, order_id, status, expires_at FROM inventory.reservations"
                   "   WHERE order_id = ANY(" MERCATO_OPAQUE_PARAM("$1", "text[]") ")"
                   "   AND status IN ('active', 'confirmed', 'expired')"
                   "   ORDER BY product_id, warehouse_id, reservation_id FOR UPDATE),"
                   " ready AS (SELECT order_id FROM mine GROUP BY order_id"
                   "   HAVING bool_and(status = 'active' AND expires_at > now())),"
                   " confirmed AS (UPDATE inventory.reservations r"
                   "   SET status = 'confirmed', expires_at = NULL, updated_at = now()"
                   "   FROM mine WHERE r.reservation_id = mine.reservation_id AND mine.status = 'active'"
                   "   AND mine.order_id IN (SELECT order_id FROM ready)"
                   "   RETURNING r.order_id, r.reservation_id, r.product_id, r.warehouse_id, r.quantity)"
                   " SELECT order_id, reservation_id::text, product_id, warehouse_id::text, quantity FROM confirmed"
                   " ORDER BY order_id, product_id, warehouse_id, reservation_id",
                   {text_array(order_ids)});
  std::vector<std::optional<reservation_set>> out(order_ids.size());
  std::unordered_map<std::string, std::vector<size_t>> slots;  // an id asked twice gets the set twice
  for (size_t i = 0; i < order_ids.size(); ++i) slots[order_ids[i]].push_back(i);
  for (const auto& r : rows) {
    const auto order_id = r[0].as<std::string>();
    auto it = slots.find(order_id);
    if (it == slots.end()) continue;
    for (size_t i : it->second) {
      if (!out[i]) out[i] = reservation_set{};
      out[i]->order_id = order_id;
      out[i]->reservations.push_back(reservation{r[1].as<std::string>(), r[2].as<std::string>(),
                                                 r[3].as<std::string>(), r[4].as<int64_t>(), "confirmed", ""});
    }
  }
  return out;
}

result<release_result> release(pqxx::work& tx, const std::string& order_id,
                               const std::vector<stock_line>& lines,
                               const std::vector<std::string>& reservation_ids, const std::string& reason,
                               const warehouse_register& reg) {
  result<release_result> out;
  std::vector<demand> filter;
  if (auto f = resolve_lines(lines, reg, filter)) {
    out.error = f;
    return out;
  }
  auto select = [&](bool lock) {
    auto rows = reservation_ids.empty() ? order_reservations(tx, order_id, {"active", "confirmed"}, lock)
                                        : reservations_by_id(tx, reservation_ids, lock);
    std::vector<live_reservation> keep;
    for (auto& r : rows) {
      if (r.status != "active" && r.status != "confirmed") continue;
      if (!filter.empty() && std::none_of(filter.begin(), filter.end(), [&](const demand& d) {
            return d.product_id == r.product_id && (d.warehouse_id.empty() || d.warehouse_id == r.warehouse_id);
          }))
        continue;
      keep.push_back(std::move(r));
    }
    return keep;
  };
  auto candidates = select(false);
  if (candidates.empty()) return out;  // nothing to release is success
  auto levels = lock_levels(tx, products_of(candidates));
  auto rows = select(true);  // re-read under lock: a concurrent sweep or release may have won
  if (rows.empty()) return out;
  change_set cs{levels, order_id.empty() ? rows.front().order_id : order_id};
  close_reservations(cs, rows, "released", reason.empty() ? "released" : reason);
  cs.apply(tx);
  out.value.released = static_cast<int64_t>(rows.size());
  for (const auto& r : rows) out.value.units += r.quantity;
  return out;
}

result<fulfillment_result> fulfill(pqxx::work& tx, const fulfill_reservations& req,
                                   const warehouse_register& reg) {
  result<fulfillment_result> out;
  if (req.reference.empty() || req.order_id.empty()) {
    out.error = fail(failure_kind::invalid, "invalid", "order_id and reference are required");
    return out;
  }
  std::vector<demand> demands;
  if (auto f = resolve_lines(req.lines, reg, demands)) {
    out.error = f;
    return out;
  }
  auto candidates = order_reservations(tx, req.order_id, {"active", "confirmed"}, false);
  std::set<std::string> product_set;
  for (const auto& d : demands) product_set.insert(d.product_id);
  for (const auto& r : candidates) product_set.insert(r.product_id);
  auto levels = lock_levels(tx, {product_set.begin(), product_set.end()});
  // Replay: the reference already shipped these lines.
  auto done = run(tx,
                  "SELECT movement_id::text FROM inventory.stock_movements WHERE reference_id = $1"
                  " AND movement_type = 'fulfillment' ORDER BY created_at, movement_id",
                  {req.reference});
  if (!done.empty()) {
    for (const auto& r : done) out.value.movement_ids.push_back(r[0].as<std::string>());
    return out;
  }
  auto rows = order_reservations(tx, req.order_id, {"active", "confirmed"}, true);
  // Lines empty = ship everything the order holds.
  if (demands.empty())
    for (const auto& r : rows) demands.push_back({r.product_id, r.warehouse_id, r.quantity});
  demands = aggregate(demands);
  change_set cs{levels, req.order_id};
  nlohmann::json lines = nlohmann::json::array();
  std::map<std::string, int64_t> left;  // reservation id → quantity still reserved
  for (const auto& r : rows) left[r.reservation_id] = r.quantity;
  for (const auto& d : demands) {
    int64_t need = d.quantity;
    for (const auto& r : rows) {
      if (need == 0) break;
      if (r.product_id != d.product_id || r.past_expiry) continue;
      if (!d.warehouse_id.empty() && r.warehouse_id != d.warehouse_id) continue;
      int64_t take = std::min(need, left[r.reservation_id]);
      if (take == 0) continue;
      left[r.reservation_id] -= take;
      need -= take;
    }
    if (need > 0) {
      out.error = fail(failure_kind::conflict, "not_reserved",
                       "Not reserved for order " + req.order_id + ": " + d.product_id,
                       {{"product_id", d.product_id}, {"requested", d.quantity}});
      return out;
    }
  }
  std::map<level_key, int64_t> shipped;
  for (const auto& r : rows) {
    int64_t taken = r.quantity - left[r.reservation_id];
    if (taken == 0) continue;
    shipped[{r.product_id, r.warehouse_id}] += taken;
    if (left[r.reservation_id] == 0)
      cs.close_reservation(r.reservation_id, "fulfilled", "shipped " + req.reference);
    else
      cs.close_reservation(r.reservation_id, r.status, "", left[r.reservation_id]);
  }
  for (const auto& [key, qty] : shipped) {
    auto id = cs.touch(key, -qty, -qty, "fulfillment", "fulfillment", req.reference, "order " + req.order_id);
    out.value.movement_ids.push_back(id);
    movement_event(cs, to_record(id, levels.at(key), -qty), "fulfillment", req.reference);
    lines.push_back({{"product_id", key.first}, {"warehouse_id", key.second}, {"quantity", qty}});
  }
  cs.add_event("stock_committed", {{"order_id", req.order_id}, {"reference", req.reference}, {"lines", lines}},
               req.order_id);
  cs.apply(tx);
  return out;
}

result<move_outcome> move(pqxx::work& tx, const move_request& req, const warehouse_register& reg) {
  result<move_outcome> out;
  auto* from = reg.find(req.warehouse_id);
  if (!from) {
    out.error = fail(failure_kind::invalid, "unknown_warehouse", "Warehouse not found: " + req.warehouse_id,
                     {{"warehouse_id", req.warehouse_id}});
    return out;
  }
  const warehouse_info* to = nullptr;
  if (req.movement_type == "transfer") {
    to = reg.find(req.to_warehouse_id);
    if (!to) {
      out.error = fail(failure_kind::invalid, "unknown_warehouse",
                       "Warehouse not found: " + req.to_warehouse_id, {{"warehouse_id", req.to_warehouse_id}});
      return out;
    }
    if (to->warehouse_id == from->warehouse_id) {
      out.error = fail(failure_kind::invalid, "invalid", "Source and target warehouse are the same");
      return out;
    }
  }
  auto levels = lock_levels(tx, {req.product_id});
  level_key src{req.product_id, from->warehouse_id};
  bool creates = req.quantity_change > 0 && req.movement_type != "transfer";
  auto ensure = [&](const level_key& key) {
    if (levels.count(key)) return;
    run(tx,
        "INSERT INTO inventory.stock_levels (product_id, warehouse_id) VALUES ($1, $2::uuid)"
        " ON CONFLICT (product_id, warehouse_id) DO NOTHING",
        {key.first, key.second});
    auto more = lock_levels(tx, {req.product_id}, false);
    levels.insert(more.begin(), more.end());
  };
  if (!levels.count(src)) {
    if (levels.empty() && !req.create_level) {
      out.error = fail(failure_kind::not_found, "unknown_item", "Product not found",
                       {{"product_id", req.product_id}});
      return out;
    }
    if (!creates) {
      out.error = fail(failure_kind::conflict, "insufficient_unreserved", "Insufficient unreserved stock: available 0",
                       {{"available", 0}});
      return out;
    }
    ensure(src);
  }
  std::string movement_type = req.movement_type == "transfer" ? "transfer_out" : req.movement_type;
  if (!req.reference.empty()) {
    auto done = run(tx,
                    "SELECT movement_id::text, warehouse_id::text, quantity_change, quantity_after,"
                    " quantity_after - reserved_after FROM inventory.stock_movements"
                    " WHERE reference_id = $1 AND product_id = $2 AND movement_type = ANY($3::text[])"
                    " ORDER BY movement_type DESC",
                    {req.reference, req.product_id,
                     text_array(req.movement_type == "transfer"
                                    ? std::vector<std::string>{"transfer_out", "transfer_in"}
                                    : std::vector<std::string>{movement_type})});
    if (!done.empty()) {
      for (const auto& r : done)
        out.value.movements.push_back({r[0].as<std::string>(), req.product_id, r[1].as<std::string>(),
                                       r[2].as<int64_t>(), r[3].as<int64_t>(), r[4].as<int64_t>()});
      out.value.replayed = true;
      return out;
    }
  }
  const auto& level = levels.at(src);
  if (req.quantity_change < 0 && level.available() + req.quantity_change < 0) {
    out.error = fail(failure_kind::conflict, "insufficient_unreserved",
                     fmt::format("Insufficient unreserved stock: available {}", level.available()),
                     {{"available", level.available()}, {"requested", -req.quantity_change}});
    return out;
  }
  if (to) ensure({req.product_id, to->warehouse_id});
  change_set cs{levels, req.reference.empty() ? req.product_id : req.reference};
  std::string change_type = req.movement_type;
  auto id = cs.touch(src, req.quantity_change, 0, movement_type, change_type, req.reference, req.notes);
  out.value.movements.push_back(to_record(id, levels.at(src), req.quantity_change));
  if (to) {
    level_key dst{req.product_id, to->warehouse_id};
    auto id2 = cs.touch(dst, -req.quantity_change, 0, "transfer_in", "transfer", req.reference, req.notes);
    out.value.movements.push_back(to_record(id2, levels.at(dst), -req.quantity_change));
  }
  for (const auto& m : out.value.movements)
    movement_event(cs, m, m.movement_id == id ? movement_type : "transfer_in", req.reference);
  cs.apply(tx);
  return out;
}

sweep_result release_expired(pqxx::work& tx, int64_t batch) {
  sweep_result out;
  // Candidates without locks first: levels are locked before reservations everywhere.
  std::vector<live_reservation> candidates;
  for (const auto& r : run(tx,
                           std::string{"SELECT "} + reservation_columns +
                               " FROM inventory.reservations WHERE status = 'active' AND expires_at < now()"
                               " ORDER BY expires_at LIMIT $1",
                           {std::to_string(batch)}))
    candidates.push_back(read_reservation(r));
  if (candidates.empty()) return out;
  auto levels = lock_levels(tx, products_of(candidates));
  std::vector<std::string> ids;
  for (const auto& r : candidates) ids.push_back(r.reservation_id);
  std::vector<live_reservation> rows;
  for (const auto& r : run(tx,
                           std::string{"SELECT "} + reservation_columns +
                               " FROM inventory.reservations WHERE reservation_id = ANY($1::uuid[])"
                               " AND status = 'active' AND expires_at < now()"
                               " ORDER BY product_id, warehouse_id, reservation_id FOR UPDATE SKIP LOCKED",
                           {text_array(ids)}))
    rows.push_back(read_reservation(r));
  if (rows.empty()) return out;
  change_set cs{levels, "sweeper"};
  close_reservations(cs, rows, "expired", "ttl");
  cs.apply(tx);
  out.released = static_cast<int64_t>(rows.size());
  for (const auto& r : rows) out.units += r.quantity;
  return out;
}

result<nlohmann::json> update_level(pqxx::work& tx, const level_update& u, const warehouse_register& reg) {
  result<nlohmann::json> out;
  auto* w = reg.find(u.warehouse_id);
  if (!w) {
    out.error = fail(failure_kind::not_found, "unknown_warehouse", "Warehouse not found");
    return out;
  }
  auto levels = lock_levels(tx, {u.product_id});
  level_key key{u.product_id, w->warehouse_id};
  if (levels.empty() && !u.allow_create) {
    out.error = fail(failure_kind::not_found, "unknown_item", "Product not found");
    return out;
  }
  if (!levels.count(key)) {
    run(tx,
        "INSERT INTO inventory.stock_levels (product_id, warehouse_id) VALUES ($1, $2::uuid)"
        " ON CONFLICT (product_id, warehouse_id) DO NOTHING",
        {key.first, key.second});
    auto more = lock_levels(tx, {u.product_id}, false);
    levels.insert(more.begin(), more.end());
  }
  auto& level = levels.at(key);
  if (u.quantity && *u.quantity < level.reserved) {
    out.error = fail(failure_kind::conflict, "conflict",
                     fmt::format("Quantity {} is below the reserved quantity {}", *u.quantity, level.reserved),
                     {{"reserved_quantity", level.reserved}});
    return out;
  }
  // Settings first, so that the alert evaluation of the quantity change sees the new reorder point.
  if (u.reorder_point || u.max_stock || u.location) {
    run(tx,
        "UPDATE inventory.stock_levels SET reorder_point = COALESCE(NULLIF($3, '')::int, reorder_point),"
        " max_stock = COALESCE(NULLIF($4, '')::int, max_stock),"
        " location = CASE WHEN $5 = '1' THEN $6 ELSE location END, last_updated = now()"
        " WHERE product_id = $1 AND warehouse_id = $2::uuid",
        {key.first, key.second, u.reorder_point ? std::to_string(*u.reorder_point) : "",
         u.max_stock ? std::to_string(*u.max_stock) : "", u.location ? "1" : "0",
         u.location ? *u.location : ""});
    if (u.reorder_point) level.reorder_point = *u.reorder_point;
    if (u.max_stock) level.max_stock = *u.max_stock;
  }
  change_set cs{levels, u.product_id};
  int64_t delta = u.quantity ? *u.quantity - level.quantity : 0;
  if (delta != 0) {
    auto id = cs.touch(key, delta, 0, "adjustment", "adjustment", "", "PUT /inventory");
    movement_event(cs, to_record(id, levels.at(key), delta), "adjustment", "");
  } else if (u.reorder_point) {
    // The reorder point moved: the alert may open or resolve without any quantity change.
    cs.touch(key, 0, 0, "adjustment", "adjustment", "", "reorder point changed");
  }
  if (!cs.empty()) cs.apply(tx);
  auto r = run(tx,
               "SELECT inventory_id::text, quantity, reserved_quantity, available_quantity, reorder_point,"
               " max_stock, COALESCE(location, ''), " INVENTORY_ISO("last_updated")
               " FROM inventory.stock_levels WHERE product_id = $1 AND warehouse_id = $2::uuid",
               {key.first, key.second})[0];
  out.value = {{"id", r[0].as<std::string>()},         {"product_id", key.first},
               {"warehouse_id", key.second},           {"warehouse_code", w->code},
               {"quantity", r[1].as<int64_t>()},       {"reserved_quantity", r[2].as<int64_t>()},
               {"available_quantity", r[3].as<int64_t>()}, {"reorder_point", r[4].as<int64_t>()},
               {"max_stock", r[5].as<int64_t>()},      {"location", r[6].as<std::string>()},
               {"last_updated", r[7].as<std::string>()}};
  return out;
}

std::vector<reservation> list_reservations(pqxx::work& tx, const reservation_filter& f) {
  std::vector<reservation> out;
  auto rows = run(tx,
                  std::string{"SELECT "} + reservation_columns +
                      " FROM inventory.reservations WHERE ($1 = '' OR order_id = $1)"
                      " AND ($2 = '' OR product_id = $2) AND ($3 = '' OR status = $3)"
                      " ORDER BY created_at, reservation_id OFFSET $4 LIMIT $5",
                  {f.order_id, f.product_id, f.status, std::to_string(f.skip), std::to_string(f.limit)});
  for (const auto& r : rows) out.push_back(to_reservation(read_reservation(r)));
  return out;
}

std::optional<reservation> get_reservation(pqxx::work& tx, const std::string& reservation_id) {
  auto rows = reservations_by_id(tx, {reservation_id}, false);
  if (rows.empty()) return std::nullopt;
  return to_reservation(rows.front());
}

int64_t reevaluate_alerts(pqxx::work& tx) {
  // Levels whose stored state disagrees with their numbers (seed data, manual edits).
  auto rows = tx.exec(
      "SELECT DISTINCT product_id FROM inventory.stock_levels WHERE alert_state <>"
      " CASE WHEN available_quantity <= 0 THEN 'critical'"
      "      WHEN available_quantity <= reorder_point THEN 'warning' ELSE 'none' END");
  if (rows.empty()) return 0;
  std::vector<std::string> products;
  for (const auto& r : rows) products.push_back(r[0].as<std::string>());
  auto levels = lock_levels(tx, products);
  change_set cs{levels, "alert_reevaluation"};
  int64_t n = 0;
  for (const auto& [key, l] : level_map{levels}) {
    if (alert_state_for(l.available(), l.reorder_point) == l.alert_state) continue;
    cs.touch(key, 0, 0, "adjustment", "adjustment", "", "alert re-evaluation");
    ++n;
  }
  cs.apply(tx);
  return n;
}

int64_t repair_reserved(pqxx::work& tx) {
  auto rows = tx.exec(
      "SELECT s.product_id FROM inventory.stock_levels s LEFT JOIN ("
      "  SELECT product_id, warehouse_id, sum(quantity) AS q FROM inventory.reservations"
      "  WHERE status IN ('active', 'confirmed') GROUP BY product_id, warehouse_id) r"
      " ON r.product_id = s.product_id AND r.warehouse_id = s.warehouse_id"
      " WHERE s.reserved_quantity <> COALESCE(r.q, 0)");
  if (rows.empty()) return 0;
  std::set<std::string> products;
  for (const auto& r : rows) products.insert(r[0].as<std::string>());
  lock_levels(tx, {products.begin(), products.end()});
  auto fixed = run(tx,
                   "UPDATE inventory.stock_levels s SET reserved_quantity = COALESCE(("
                   "  SELECT sum(quantity) FROM inventory.reservations r WHERE r.product_id = s.product_id"
                   "  AND r.warehouse_id = s.warehouse_id AND r.status IN ('active', 'confirmed')), 0),"
                   " last_updated = now()"
                   " WHERE s.product_id = ANY($1::text[]) AND s.reserved_quantity <> COALESCE(("
                   "  SELECT sum(quantity) FROM inventory.reservations r WHERE r.product_id = s.product_id"
                   "  AND r.warehouse_id = s.warehouse_id AND r.status IN ('active', 'confirmed')), 0)",
                   {text_array({products.begin(), products.end()})});
  return static_cast<int64_t>(fixed.affected_rows());
}

void hide_item(pqxx::work& tx, const std::string& product_id) {
  run(tx, "UPDATE inventory.stock_levels SET hidden = true WHERE product_id = $1", {product_id});
}

}  // namespace mercato::inventory::store
