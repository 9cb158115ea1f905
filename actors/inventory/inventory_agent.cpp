// The inventory agent (agents/8002-inventory.md): the typed door of every stock operation (the
// saga's reserves share transactions under load), the reservation sweeper ([inventory]
// sweep_interval_ms), the hourly consistency check, and the caches it can rebuild (warehouse
// register, product names/SKUs). REST lives in routes.cpp, SQL in inventory_store.cpp.
#include "inventory/inventory_agent.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "inventory/inventory_state.hpp"
#include "log/log.hpp"
#include "product/product_messages.hpp"
#include "runtime/agent_call.hpp"
#include "runtime/event_subscription.hpp"

namespace mercato {
namespace inventory {

failure store_failure(const db::error& e) {
  if (e.sqlstate == "55P03")
    return failure{failure_kind::unavailable, "lock_timeout", "Stock is busy, retry", {}};
  if (e.sqlstate == "23514") {
    log::error("inventory", "check_violation", {{"reason", e.message}});
    return failure{failure_kind::conflict, "conflict", "Stock constraint violated", {}};
  }
  return db_failure(e);
}

const product_info* cached_product(inventory_self self, const std::string& id) {
  auto it = self->state.products.find(id);
  if (it == self->state.products.end()) return nullptr;
  if (inventory_state::steady::now() - it->second.second > cache_ttl) return nullptr;
  return &it->second.first;
}

namespace {

product_info to_info(const product::product_summary& p) {
  return product_info{p.product_id, p.sku, p.name, p.category, p.image_url, p.price};
}

void remember(inventory_self self, const product::product_summary& p) {
  auto now = inventory_state::steady::now();
  self->state.products[p.product_id] = {to_info(p), now};
  self->state.labels->put(p.product_id, store::item_label{p.name, p.sku});
  if (!p.sku.empty()) self->state.item_by_ref[p.sku] = {p.product_id, now};
  self->state.item_by_ref[p.product_id] = {p.product_id, now};
}

}  // namespace

void resolve_item(inventory_self self, const std::string& ref, std::function<void(std::string, bool)> k) {
  auto it = self->state.item_by_ref.find(ref);
  if (it != self->state.item_by_ref.end() &&
      inventory_state::steady::now() - it->second.second < cache_ttl) {
    k(it->second.first, true);
    return;
  }
  // A SKU first (variants and bundles map to their own item ids), else an id the catalogue knows.
  ask_agent_resending<product_actor>(
      self, self->state.shell->context(), "product", product::get_products_by_sku{{ref}},
      [self, ref, k](product::sku_map& m) {
        for (const auto& [sku, item] : m.items)
          if (sku == ref) {
            self->state.item_by_ref[ref] = {item, inventory_state::steady::now()};
            if (!self->state.labels->get(item)) self->state.labels->put(item, store::item_label{"", sku});
            // Names for listings and alert events come with the summary (cached like the SKU).
            load_products(self, {item}, [k, item = item](bool) { k(item, true); });
            return;
          }
        ask_agent_resending<product_actor>(
            self, self->state.shell->context(), "product", product::get_product{ref},
            [self, ref, k](product::product_summary& p) {
              remember(self, p);
              self->state.item_by_ref[ref] = {ref, inventory_state::steady::now()};
              k(ref, true);
            },
            [ref, k](const failure&) { k(ref, false); }, std::chrono::milliseconds(1000));
      },
      [ref, k](const failure&) { k(ref, false); }, std::chrono::milliseconds(1000));
}

void load_products(inventory_self self, std::vector<std::string> ids, std::function<void(bool)> k) {
  std::vector<std::string> missing;
  for (auto& id : ids)
    if (!cached_product(self, id)) missing.push_back(id);
  if (missing.empty()) {
    k(true);
    return;
  }
  if (missing.size() > 500) missing.resize(500);
  ask_agent_resending<product_actor>(
      self, self->state.shell->context(), "product", product::get_products{missing},
      [self, k](product::product_summaries& r) {
        for (const auto& p : r.products) remember(self, p);
        k(true);
      },
      [k](const failure&) { k(false); }, std::chrono::milliseconds(1000));
}

namespace {

constexpr int64_t sweep_batch = 500;

void load_register(inventory_self self, bool reevaluate) {
  with_store<bool>(self, reevaluate,
                   [reevaluate](pqxx::work& tx, const warehouse_register&) {
                     store::result<bool> r;
                     if (reevaluate) store::reevaluate_alerts(tx);
                     return r;
                   },
                   [](std::optional<failure>, bool) {});
  const auto& ctx = self->state.shell->context();
  if (!ctx.database) return;
  db_transact<warehouse_register>(
      self, *ctx.database, [](pqxx::work& tx) { return store::load_warehouses(tx); },
      [self](db::outcome<warehouse_register> o) {
        if (o.ok()) self->state.warehouses = std::make_shared<const warehouse_register>(std::move(*o.value));
      });
}

void on_event(inventory_self self, const event& e) {
  if (e.name == "warehouse.warehouse_created" || e.name == "warehouse.warehouse_updated") {
    load_register(self, false);
    return;
  }
  // product_deleted (durable): acknowledged once the item is hidden; an outage leaves it
  // unacknowledged and the bus delivers it again later.
  const agent_context& ctx = self->state.shell->context();
  auto doc = nlohmann::json::parse(e.payload, nullptr, false);
  if (e.name != "product.product_deleted" || !doc.is_object() || !doc.contains("product_id") ||
      !doc["product_id"].is_string())
    return acknowledge_event(ctx, e.event_id);
  std::string id = doc["product_id"].get<std::string>();
  self->state.products.erase(id);
  with_store<bool>(self, false,
                   [id](pqxx::work& tx, const warehouse_register&) {
                     store::hide_item(tx, id);
                     return store::result<bool>{};
                   },
                   [ctx, event_id = e.event_id](std::optional<failure> f, bool) {
                     if (f && f->kind == failure_kind::unavailable) return;
                     if (f) log::warn("inventory", "product_deleted_not_applied", {{"event_id", event_id}, {"error", f->message}});
                     acknowledge_event(ctx, event_id);
                   });
}

// A movement through store::move. New (item, warehouse) levels are created by positive movements
// when the product agent knows the item, or cannot be asked (item ids are opaque here).
void run_move(inventory_self self, store::move_request req,
              std::function<void(std::optional<failure>, store::move_outcome)> k) {
  auto go = [self, req, k](bool item_exists) mutable {
    req.create_level = item_exists;
    with_store<store::move_outcome>(
        self, true,
        [req](pqxx::work& tx, const warehouse_register& reg) {
          auto r = req;
          if (r.warehouse_id.empty())
            if (auto* w = reg.default_warehouse()) r.warehouse_id = w->warehouse_id;
          return store::move(tx, r, reg);
        },
        [k](std::optional<failure> f, store::move_outcome out) mutable {
          if (f && f->code == "unknown_item") f->kind = failure_kind::invalid;
          k(std::move(f), std::move(out));
        });
  };
  if (req.quantity_change <= 0) return go(false);
  ask_agent_resending<product_actor>(
      self, self->state.shell->context(), "product", product::get_product{req.product_id},
      [go](product::product_summary&) mutable { go(true); },
      [go](const failure& f) mutable { go(f.kind != failure_kind::not_found); }, std::chrono::milliseconds(1000));
}

caf::result<movement_record> first_movement(inventory_self self, store::move_request req) {
  auto rp = self->make_response_promise<movement_record>();
  if (req.product_id.empty() || req.product_id.size() > 100) {
    rp.deliver(make_failure(failure_kind::invalid, "invalid", "product_id must be 1..100 characters"));
    return rp;
  }
  run_move(self, std::move(req), [rp](std::optional<failure> f, store::move_outcome out) mutable {
    if (f)
      rp.deliver(make_failure(*f));
    else
      rp.deliver(out.movements.front());
  });
  return rp;
}

// An order whose reservations are not all active and unexpired (a replay, an expired or released
// row, nothing reserved): confirm()'s transaction decides and answers, as it always has.
void confirm_in_transaction(inventory_self self, const std::string& order_id,
                            caf::typed_response_promise<reservation_set> promise) {
  with_store<reservation_set>(
      self, false, [order_id](pqxx::work& tx, const warehouse_register&) { return store::confirm(tx, order_id); },
      [promise](std::optional<failure> f, reservation_set r) mutable {
        if (f)
          promise.deliver(make_failure(*f));
        else
          promise.deliver(std::move(r));
      });
}

void send_confirms(inventory_self self, std::vector<pending_confirm> batch);

// The order saga's confirmation (every order). Confirmations that meet in state.confirms share one
// statement without BEGIN/COMMIT (store::confirm_all_active), which confirms the common case, all
// of an order's reservations active and unexpired. The others wrote nothing there and take
// confirm()'s transaction one by one. `queued`: the batch came from state.confirms, which hears
// when it is done. A failed shared statement wrote nothing; each of its orders is sent again alone,
// so one order that cannot be written never fails the others.
void write_confirms(inventory_self self, std::vector<pending_confirm> batch, bool queued) {
  using answers = std::vector<std::optional<reservation_set>>;
  std::vector<std::string> ids;
  ids.reserve(batch.size());
  for (const auto& p : batch) ids.push_back(p.order_id);
  run_on_store<answers, unit_mode::one_write>(
      self, false,
      [ids](pqxx::nontransaction& tx, const warehouse_register&) {
        return store::result<answers>{std::nullopt, store::confirm_all_active(tx, ids)};
      },
      [self, batch, queued](std::optional<failure> f, answers fast) mutable {
        if (queued) {
          self->state.confirms.finished([self](auto next) { send_confirms(self, std::move(next)); });
        }
        if (f && batch.size() > 1) {
          log::warn("inventory", "confirm_batch_failed", {{"orders", batch.size()}, {"error", f->message}});
          for (auto& p : batch) write_confirms(self, {std::move(p)}, false);
          return;
        }
        for (size_t i = 0; i < batch.size(); ++i) {
          auto& p = batch[i];
          if (f)
            p.promise.deliver(make_failure(*f));
          else if (fast[i])
            p.promise.deliver(std::move(*fast[i]));
          else
            confirm_in_transaction(self, p.order_id, p.promise);
        }
      });
}

void send_confirms(inventory_self self, std::vector<pending_confirm> batch) {
  write_confirms(self, std::move(batch), true);
}

caf::result<reservation_set> confirm_order(inventory_self self, std::string order_id) {
  auto promise = self->make_response_promise<reservation_set>();
  auto batch = self->state.confirms.push({std::move(order_id), promise});
  if (!batch.empty()) send_confirms(self, std::move(batch));
  return promise;
}

// Reserves that meet in state.reserves go out as one transaction (store::reserve_batch). A failed
// transaction wrote nothing; when it carried several orders each is retried in a transaction of its
// own, so one order that cannot be written never fails the others.
void send_reserves(inventory_self self, std::vector<pending_reserve> batch) {
  using answers = std::vector<store::result<reservation_set>>;
  std::vector<reserve_stock> requests;
  requests.reserve(batch.size());
  for (const auto& p : batch) requests.push_back(p.request);
  with_store<answers>(
      self, true,
      [requests](pqxx::work& tx, const warehouse_register& reg) {
        return store::result<answers>{std::nullopt, store::reserve_batch(tx, requests, reg)};
      },
      [self, batch](std::optional<failure> f, answers results) mutable {
        self->state.reserves.finished([self](auto next) { send_reserves(self, std::move(next)); });
        for (size_t i = 0; i < batch.size(); ++i) {
          auto& promise = batch[i].promise;
          if (f && batch.size() > 1) {
            with_store<reservation_set>(
                self, true,
                [request = batch[i].request](pqxx::work& tx, const warehouse_register& reg) {
                  return store::reserve(tx, request, reg);
                },
                [promise](std::optional<failure> alone, reservation_set set) mutable {
                  if (alone)
                    promise.deliver(make_failure(*alone));
                  else
                    promise.deliver(std::move(set));
                });
          } else if (f || results[i].error) {
            promise.deliver(make_failure(f ? *f : *results[i].error));
          } else {
            promise.deliver(std::move(results[i].value));
          }
        }
      });
}

inventory_impl::behavior_type inventory_agent(inventory_self self, agent_context ctx) {
  start_agent(self, ctx);
  if (ctx.settings) {
    const auto& cfg = ctx.settings->inventory;
    self->state.sweep_interval = cfg.sweep_interval;
    self->state.rest_reservation_ttl_s =
        std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(cfg.reservation_ttl).count());
    self->state.reserves = db::batch_queue<pending_reserve>{cfg.reserve_batch_max, cfg.reserve_batches_in_flight};
    self->state.confirms = db::batch_queue<pending_confirm>{cfg.reserve_batch_max, cfg.reserve_batches_in_flight};
  }
  add_inventory_routes(self);
  self->state.shell->set_health_extras([self] {
    return fmt::format(
        ",\"warehouses_loaded\":{},\"oversell_detected_total\":{},\"reservations_swept\":{},"
        "\"reserved_repairs_total\":{},\"shared_statements\":{{\"reserves\":{},\"confirmations\":{},"
        "\"availability\":{}}}",
        self->state.warehouses ? self->state.warehouses->all().size() : 0, self->state.oversell_detected_total,
        self->state.swept, self->state.repaired_levels, self->state.reserves.health_json(),
        self->state.confirms.health_json(), self->state.availability.health_json());
  });
  consume_events(self, ctx, {"product.product_deleted"});
  subscribe_events(self, ctx, {"warehouse.warehouse_created", "warehouse.warehouse_updated"});  // reloaded on start
  load_register(self, true);
  self->delayed_send(self, self->state.sweep_interval, sweep_atom::value);
  self->delayed_send(self, std::chrono::hours(1), audit_atom::value);
  self->delayed_send(self, cache_ttl, refresh_atom::value);

  return {
      on_http_call(self),
      on_http_request(self),
      on_heartbeat(self),
      on_fault(self),
      on_continuation(self),
      [self](check_availability& m) -> caf::result<availability_report> {
        using reports = std::vector<store::result<availability_report>>;
        auto rp = self->make_response_promise<availability_report>();
        self->state.availability.read(
            std::move(m.lines),
            [rp](std::optional<failure> failed, store::result<availability_report> r) mutable {
              if (failed) rp.deliver(make_failure(*failed));
              else if (r.error) rp.deliver(make_failure(*r.error));
              else rp.deliver(std::move(r.value));
            },
            [self](std::vector<std::vector<stock_line>> requests,
                   shared_reads<std::vector<stock_line>, store::result<availability_report>>::finish_fn finish) {
              run_on_store<reports, unit_mode::reads>(
                  self, false,
                  [requests = std::move(requests)](pqxx::transaction_base& tx, const warehouse_register& reg) {
                    return store::result<reports>{std::nullopt, store::check_availability(tx, requests, reg)};
                  },
                  [finish](std::optional<failure> failed, reports found) {
                    finish({std::move(failed), std::move(found)});
                  });
            });
        return rp;
      },
      [self](check_availability_levels& m) -> caf::result<stock_levels> {
        return reply_from_reads<stock_levels>(self, [m](pqxx::transaction_base& tx, const warehouse_register& reg) {
          store::result<stock_levels> r;
          std::vector<std::string> warehouses;
          for (const auto& w : m.warehouse_ids)
            if (auto* found = reg.find(w)) warehouses.push_back(found->warehouse_id);
          if (!m.warehouse_ids.empty() && warehouses.empty()) return r;  // none known: no levels
          r.value.levels = store::levels_of(tx, m.product_ids, warehouses);
          return r;
        });
      },
      [self](reserve_stock& m) -> caf::result<reservation_set> {
        auto promise = self->make_response_promise<reservation_set>();
        auto batch = self->state.reserves.push({std::move(m), promise});
        if (!batch.empty()) send_reserves(self, std::move(batch));
        return promise;
      },
      [self](extend_reservations& m) -> caf::result<reservation_set> {
        return reply_from_store<reservation_set>(self, false, [m](pqxx::work& tx, const warehouse_register&) {
          return store::extend(tx, m.order_id, m.ttl_seconds);
        });
      },
      [self](confirm_reservations& m) -> caf::result<reservation_set> { return confirm_order(self, m.order_id); },
      [self](release_reservations& m) -> caf::result<release_result> {
        return reply_from_store<release_result>(self, true, [m](pqxx::work& tx, const warehouse_register& reg) {
          return store::release(tx, m.order_id, m.lines, {}, m.reason, reg);
        });
      },
      [self](fulfill_reservations& m) -> caf::result<fulfillment_result> {
        return reply_from_store<fulfillment_result>(
            self, true, [m](pqxx::work& tx, const warehouse_register& reg) { return store::fulfill(tx, m, reg); });
      },
      [self](get_stock_summary& m) -> caf::result<stock_summary> {
        return reply_from_store<stock_summary>(self, false, [m](pqxx::work& tx, const warehouse_register&) {
          return store::result<stock_summary>{std::nullopt, store::summary(tx, m.product_ids)};
        });
      },
      [self](receive_stock& m) -> caf::result<movement_record> {
        static const char* reasons[] = {"purchase", "transfer", "initial_stock", "count", "return"};
        if (std::find(std::begin(reasons), std::end(reasons), m.reason) == std::end(reasons))
          return make_failure(failure_kind::invalid, "invalid", "unknown reason " + m.reason);
        if (m.quantity <= 0) return make_failure(failure_kind::invalid, "invalid", "quantity must be > 0");
        store::move_request req;
        req.product_id = m.product_id;
        req.warehouse_id = m.warehouse_id;
        req.quantity_change = m.quantity;
        req.movement_type = m.reason == "return" ? "return" : "inbound";
        req.reference = m.reference;
        req.notes = m.reason;
        return first_movement(self, std::move(req));
      },
      [self](receive_returned_stock& m) -> caf::result<movement_record> {
        if (m.quantity <= 0) return make_failure(failure_kind::invalid, "invalid", "quantity must be > 0");
        store::move_request req;
        req.product_id = m.product_id;
        req.warehouse_id = m.warehouse_id;
        req.quantity_change = m.quantity;
        req.movement_type = "return";
        req.reference = m.reference;
        req.notes = "returned";
        return first_movement(self, std::move(req));
      },
      [self](adjust_stock& m) -> caf::result<movement_record> {
        if (m.movement_type != "adjustment" && m.movement_type != "inbound" && m.movement_type != "outbound")
          return make_failure(failure_kind::invalid, "invalid", "movement_type must be adjustment, inbound or outbound");
        auto problem = check_move(m.movement_type, m.quantity_change);
        if (!problem.empty()) return make_failure(failure_kind::invalid, "invalid", problem);
        store::move_request req;
        req.product_id = m.product_id;
        req.warehouse_id = m.warehouse_id;
        req.quantity_change = m.quantity_change;
        req.movement_type = m.movement_type;
        req.reference = m.reference;
        req.notes = m.notes;
        return first_movement(self, std::move(req));
      },
      [self](transfer_stock& m) -> caf::result<transfer_result> {
        auto rp = self->make_response_promise<transfer_result>();
        if (m.quantity <= 0) {
          rp.deliver(make_failure(failure_kind::invalid, "invalid", "quantity must be > 0"));
          return rp;
        }
        store::move_request req;
        req.product_id = m.product_id;
        req.warehouse_id = m.from_warehouse_id;
        req.to_warehouse_id = m.to_warehouse_id;
        req.quantity_change = -m.quantity;
        req.movement_type = "transfer";
        req.reference = m.reference;
        run_move(self, std::move(req), [rp](std::optional<failure> f, store::move_outcome out) mutable {
          if (f)
            rp.deliver(make_failure(*f));
          else
            rp.deliver(transfer_result{std::move(out.movements)});
        });
        return rp;
      },
      [self](get_availability& m) -> caf::result<availability_list> {
        return reply_from_store<availability_list>(self, false, [m](pqxx::work& tx, const warehouse_register&) {
          store::result<availability_list> r;
          for (const auto& s : store::summary(tx, m.product_ids).items)
            r.value.items.push_back({s.product_id, s.available});
          return r;
        });
      },
      [self](stock_snapshot& m) -> caf::result<stock_levels> {
        return reply_from_reads<stock_levels>(self, [m](pqxx::transaction_base& tx, const warehouse_register& reg) {
          store::result<stock_levels> r;
          std::string wh;
          if (!m.warehouse_id.empty()) {
            auto* w = reg.find(m.warehouse_id);
            if (!w) return r;  // nothing stocked in an unknown warehouse
            wh = w->warehouse_id;
          }
          r.value = store::snapshot(tx, wh, std::max<int64_t>(0, m.skip), std::clamp<int64_t>(m.limit, 1, 1000));
          return r;
        });
      },
      [self](count_low_stock&) -> caf::result<low_stock_count> {
        return reply_from_store<low_stock_count>(self, false, [](pqxx::work& tx, const warehouse_register&) {
          return store::result<low_stock_count>{std::nullopt, store::count_low(tx)};
        });
      },
      [self](release_expired_reservations&) -> caf::result<sweep_result> {
        return reply_from_store<sweep_result>(self, true, [](pqxx::work& tx, const warehouse_register&) {
          return store::result<sweep_result>{std::nullopt, store::release_expired(tx)};
        });
      },
      [self](outbox_stats&) -> caf::result<outbox_stats_reply> {
        return reply_from_store<outbox_stats_reply>(self, false, [](pqxx::work& tx, const warehouse_register&) {
          return store::result<outbox_stats_reply>{std::nullopt, store::outbox_statistics(tx)};
        });
      },
      [self](event& e) { on_event(self, e); },
      [self](sweep_atom) {
        with_store<sweep_result>(self, true,
                                 [](pqxx::work& tx, const warehouse_register&) {
                                   return store::result<sweep_result>{std::nullopt,
                                                                      store::release_expired(tx, sweep_batch)};
                                 },
                                 [self](std::optional<failure>, sweep_result r) {
                                   self->state.swept += r.released;
                                   if (r.released)
                                     log::info("inventory", "reservations_expired",
                                               {{"released", r.released}, {"units", r.units}});
                                   // A full batch means more are waiting: sweep again now.
                                   auto next = r.released >= sweep_batch ? std::chrono::milliseconds(0)
                                                                         : self->state.sweep_interval;
                                   self->delayed_send(self, next, sweep_atom::value);
                                 });
      },
      [self](audit_atom) {
        with_store<int64_t>(self, false,
                            [](pqxx::work& tx, const warehouse_register&) {
                              return store::result<int64_t>{std::nullopt, store::repair_reserved(tx)};
                            },
                            [self](std::optional<failure>, int64_t repaired) {
                              if (repaired > 0) {
                                self->state.repaired_levels += repaired;
                                log::error("inventory", "reserved_mismatch_repaired", {{"levels", repaired}});
                              }
                            });
        self->delayed_send(self, std::chrono::hours(1), audit_atom::value);
      },
      [self](refresh_atom) {
        load_register(self, false);
        // Drop cache entries past their TTL (they would be refreshed on use anyway).
        auto now = inventory_state::steady::now();
        auto prune = [now](auto& map) {
          for (auto it = map.begin(); it != map.end();)
            it = now - it->second.second > cache_ttl ? map.erase(it) : std::next(it);
        };
        prune(self->state.item_by_ref);
        prune(self->state.products);
        self->delayed_send(self, cache_ttl, refresh_atom::value);
      },
  };
}

}  // namespace
}  // namespace inventory

caf::actor spawn_inventory_agent(caf::local_actor* supervisor, const agent_context& ctx) {
  return caf::actor_cast<caf::actor>(supervisor->spawn<caf::linked>(inventory::inventory_agent, ctx));
}

}  // namespace mercato
