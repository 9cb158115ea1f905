// The product agent (agents/8001-product.md): the catalogue actor. It loads its read model from the
// `catalog` schema at start (asynchronously: heartbeats are answered meanwhile and early requests
// wait), answers reads from memory, writes through one queued transaction at a time, keeps an
// availability cache from inventory, and counts units sold from order events.
#include "product/product_agent.hpp"

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "inventory/inventory_messages.hpp"
#include "log/log.hpp"
#include "product/attribute_store.hpp"
#include "product/product_runtime.hpp"
#include "product/resolve.hpp"
#include "runtime/agent_call.hpp"
#include "runtime/event_subscription.hpp"

namespace mercato {
namespace product {

namespace {

constexpr size_t max_waiting = 10000;

constexpr auto stock_refresh_every = std::chrono::seconds(30);
constexpr auto initial_stock_retry_every = std::chrono::seconds(60);
constexpr auto stock_timeout = std::chrono::milliseconds(1000);

void after(product_self self, std::chrono::milliseconds delay, std::function<void()> fn) {
  self->delayed_send(self, delay, continuation{std::move(fn)});
}

void load_model(product_self self) {
  db::pool* pool = self->state.shell->context().database;
  if (!pool) {
    self->state.loaded = true;  // nothing to load: serve an empty catalogue
    return;
  }
  using snapshot = std::pair<catalog_snapshot, extras_snapshot>;
  db_transact<snapshot>(self, *pool, [](pqxx::work& tx) { return snapshot{load_catalog(tx), load_extras(tx)}; },
                                [self](db::outcome<snapshot> r) {
                                  if (!r.ok()) {
                                    log::warn("product", "catalog_load_failed", {{"reason", r.failure->message}});
                                    after(self, std::chrono::seconds(1), [self] { load_model(self); });
                                    return;
                                  }
                                  self->state.model.load(std::move(r.value->first));
                                  auto& extras = r.value->second;
                                  self->state.attributes.load(std::move(extras.definitions), std::move(extras.values));
                                  self->state.seo.load(std::move(extras.seo));
                                  self->state.loaded = true;
                                  auto waiting = std::move(self->state.waiting);
                                  self->state.waiting.clear();
                                  for (auto& fn : waiting) fn();
                                  refresh_stock(self, self->state.model.stock_item_ids());
                                });
}

void stock_timer(product_self self) {
  after(self, stock_refresh_every, [self] {
    if (self->state.loaded) refresh_stock(self, self->state.model.stock_item_ids());
    stock_timer(self);
  });
}

// Re-sends initial_stock movements inventory did not acknowledge (idempotent by reference).
void initial_stock_timer(product_self self) {
  after(self, initial_stock_retry_every, [self] {
    if (self->state.loaded) {
      for (const auto& [id, p] : self->state.model.products())
        if (p.pending_initial_stock > 0 && !p.deleted())
          send_initial_stock(self, id, p.pending_initial_stock, [](bool) {});
    }
    initial_stock_timer(self);
  });
}

// Records `batch` in one statement. `queued`: it came from state.sales, which hears when it is
// done. A statement that failed for another reason than the database being unavailable wrote
// nothing; when it carried several events each is sent again alone, so one unusable event never
// holds back the others.
void record_batch(product_self self, std::vector<sale> batch, bool queued) {
  db::pool* pool = self->state.shell->context().database;
  db_autocommit<std::vector<bool>>(
      self, *pool, db::pool::effect::write,
      [batch](pqxx::nontransaction& tx) { return record_sales(tx, batch); },
      [self, batch, queued](db::outcome<std::vector<bool>> r) mutable {
        const agent_context& ctx = self->state.shell->context();
        if (queued) {
          self->state.sales.finished([self](auto next) { record_batch(self, std::move(next), true); });
        }
        if (!r.ok()) {
          // Unknown or not done: left unacknowledged, delivered again (a duplicate is skipped).
          if (r.failure->code == db::errc::unavailable) return;
          if (batch.size() > 1) {
            log::warn("product", "sales_batch_failed", {{"events", batch.size()}, {"error", r.failure->message}});
            for (auto& s : batch) record_batch(self, {std::move(s)}, false);
            return;
          }
          log::warn("product", "sales_not_recorded",
                    {{"event_id", batch.front().event_id}, {"error", r.failure->message}});
        }
        for (size_t i = 0; i < batch.size(); ++i) {
          if (r.ok() && (*r.value)[i])  // not a duplicate
            for (const auto& l : batch[i].lines) self->state.model.add_sales(l.item_id, l.units);
          acknowledge_event(ctx, batch[i].event_id);
        }
      });
}

// Sales counts for the list's sort. Durable: acknowledged once recorded (or a duplicate, or
// unusable); a database outage leaves it unacknowledged and the bus delivers it again later.
void on_order_confirmed(product_self self, const event& e) {
  const agent_context& ctx = self->state.shell->context();
  auto payload = nlohmann::json::parse(e.payload, nullptr, false);
  std::vector<sold_line> lines;
  if (payload.is_object() && payload.contains("lines") && payload["lines"].is_array()) {
    for (const auto& l : payload["lines"]) {
      if (!l.is_object()) continue;
      // `product_id` is the catalog item sold (a variant's own id for a variant); the line's
      // `item_id` is the order line's id and names nothing in the catalog.
      std::string item = l.contains("product_id") && l["product_id"].is_string() ? l["product_id"].get<std::string>()
                                                                                 : std::string{};
      int64_t q = l.contains("quantity") && l["quantity"].is_number_integer() ? l["quantity"].get<int64_t>() : 0;
      if (item.empty() || q <= 0) continue;
      lines.push_back({item, q});
      // A variant's sale also counts for its parent product (the list sorts products).
      if (const auto* v = self->state.model.variant(item)) lines.push_back({v->parent_id, q});
    }
  }
  if (lines.empty() || !ctx.database) return acknowledge_event(ctx, e.event_id);
  auto batch = self->state.sales.push(sale{e.event_id, std::move(lines)});
  if (!batch.empty()) record_batch(self, std::move(batch), true);
}

void on_stock_changed(product_self self, const event& e) {
  auto payload = nlohmann::json::parse(e.payload, nullptr, false);
  if (!payload.is_object()) return;
  std::string item = payload.value("product_id", std::string{});
  auto it = payload.find("available");
  if (item.empty() || it == payload.end() || !it->is_number_integer()) return;
  self->state.model.set_available(item, it->get<int64_t>());
}

caf::error to_error(const resolve_failure& f) {
  nlohmann::json detail{{"index", f.index}, {"ref", f.ref}};
  failure_kind kind = f.code == "not_found" ? failure_kind::not_found : failure_kind::invalid;
  return make_failure(kind, f.code, f.message, detail.dump());
}

}  // namespace

bool when_loaded(product_self self, std::function<void()> fn) {
  if (self->state.loaded) {
    fn();
    return true;
  }
  if (self->state.waiting.size() >= max_waiting) return false;
  self->state.waiting.push_back(std::move(fn));
  return true;
}

void refresh_stock(product_self self, std::vector<std::string> ids) {
  if (ids.empty() || self->state.stock_refresh_in_flight) return;
  self->state.stock_refresh_in_flight = true;
  auto asked = std::make_shared<std::vector<std::string>>(ids);
  ask_agent_resending<inventory_actor>(
      self, self->state.shell->context(), "inventory", inventory::get_stock_summary{std::move(ids)},
      [self, asked](inventory::stock_summary& s) {
        self->state.stock_refresh_in_flight = false;
        // Inventory answered: an item it does not list has no stock anywhere.
        std::unordered_map<std::string, int64_t> got;
        for (const auto& i : s.items) got[i.product_id] = i.available;
        for (const auto& id : *asked) {
          auto it = got.find(id);
          self->state.model.set_available(id, it == got.end() ? 0 : it->second);
        }
      },
      [self, asked](const failure&) {
        self->state.stock_refresh_in_flight = false;
        for (const auto& id : *asked) self->state.model.set_available(id, std::nullopt);  // unknown, never 0
      },
      stock_timeout);
}

void send_initial_stock(product_self self, const std::string& product_id, int64_t quantity,
                        std::function<void(bool pending)> then) {
  inventory::receive_stock msg;
  msg.product_id = product_id;
  msg.quantity = quantity;
  msg.reason = "initial_stock";
  msg.reference = "initial_stock:" + product_id;
  ask_agent<inventory_actor>(
      self, self->state.shell->context(), "inventory", std::move(msg),
      [self, product_id, then](inventory::movement_record& m) {
        self->state.model.set_available(product_id, m.available_after);
        write_unit<product_record>(
            self, [product_id](pqxx::work& tx) { return clear_pending_stock(tx, product_id); },
            [self](db::outcome<unit_result<product_record>> r) {
              if (r.ok() && r.value->value) self->state.model.put_product(std::move(*r.value->value));
            });
        then(false);
      },
      [then, product_id](const failure& f) {
        log::info("product", "initial_stock_pending", {{"product_id", product_id}, {"reason", f.message}});
        then(true);
      },
      std::chrono::milliseconds(2000));
}

namespace {

product_actor::behavior_type product_agent(product_self self, agent_context ctx) {
  start_agent(self, ctx);
  self->state.store_base_url = ctx.settings ? ctx.settings->store.base_url : store_config{}.base_url;
  // Search also matches values of searchable attributes (both live in this state, same lifetime).
  self->state.model.set_search_extension(&self->state.attributes);
  add_product_routes(self);
  self->state.shell->set_health_extras([self] {
    return std::string{",\"agent\":\"product_agent\",\"catalog_loaded\":"} +
           (self->state.loaded ? "true" : "false") +
           ",\"products\":" + std::to_string(self->state.model.products().size()) +
           ",\"shared_statements\":{\"sales\":" + self->state.sales.health_json() + "}" +
           ",\"timestamp\":\"" + iso(now_micros()) + "\"";
  });
  consume_events(self, ctx, {"order.order_confirmed"});
  subscribe_events(self, ctx, {"inventory.stock_changed"});  // a cache, reloaded on start
  load_model(self);
  stock_timer(self);
  initial_stock_timer(self);

  return {
      on_http_call(self), on_http_request(self), on_heartbeat(self), on_fault(self), on_continuation(self),
      [self](resolve_items& m) -> caf::result<resolved_items> {
        auto rp = self->make_response_promise<resolved_items>();
        bool queued = when_loaded(self, [self, m, rp]() mutable {
          resolved_items out;
          if (auto f = resolve(self->state.model, m, out)) rp.deliver(to_error(*f));
          else rp.deliver(std::move(out));
        });
        if (!queued) rp.deliver(make_failure(failure_kind::unavailable, "unavailable", "Catalogue is loading"));
        return rp;
      },
      [self](get_product& m) -> caf::result<product_summary> {
        auto rp = self->make_response_promise<product_summary>();
        bool queued = when_loaded(self, [self, m, rp]() mutable {
          if (auto s = summarize(self->state.model, m.id_or_sku)) rp.deliver(std::move(*s));
          else rp.deliver(make_failure(failure_kind::not_found, "not_found", "Product not found",
                                       nlohmann::json{{"ref", m.id_or_sku}}.dump()));
        });
        if (!queued) rp.deliver(make_failure(failure_kind::unavailable, "unavailable", "Catalogue is loading"));
        return rp;
      },
      [self](get_products& m) -> caf::result<product_summaries> {
        if (m.ids.size() > 500)
          return make_failure(failure_kind::invalid, "invalid", "At most 500 ids per request");
        auto rp = self->make_response_promise<product_summaries>();
        bool queued = when_loaded(self, [self, m, rp]() mutable {
          product_summaries out;
          for (const auto& id : m.ids)
            if (auto s = summarize(self->state.model, id)) out.products.push_back(std::move(*s));
          rp.deliver(std::move(out));
        });
        if (!queued) rp.deliver(make_failure(failure_kind::unavailable, "unavailable", "Catalogue is loading"));
        return rp;
      },
      [self](get_products_by_sku& m) -> caf::result<sku_map> {
        if (m.skus.size() > 500)
          return make_failure(failure_kind::invalid, "invalid", "At most 500 SKUs per request");
        auto rp = self->make_response_promise<sku_map>();
        bool queued = when_loaded(self, [self, m, rp]() mutable {
          sku_map out;
          for (const auto& sku : m.skus)
            if (auto owner = self->state.model.sku_owner(sku)) out.items.emplace_back(sku, owner->second);
          rp.deliver(std::move(out));
        });
        if (!queued) rp.deliver(make_failure(failure_kind::unavailable, "unavailable", "Catalogue is loading"));
        return rp;
      },
      [self](list_products& m) -> caf::result<product_list> {
        auto rp = self->make_response_promise<product_list>();
        bool queued = when_loaded(self, [self, m, rp]() mutable {
          std::string error;
          if (auto out = list_summaries(self->state.model, m, error)) rp.deliver(std::move(*out));
          else rp.deliver(make_failure(failure_kind::invalid, "invalid", error));
        });
        if (!queued) rp.deliver(make_failure(failure_kind::unavailable, "unavailable", "Catalogue is loading"));
        return rp;
      },
      [self](bundle_price& m) -> caf::result<bundle_price_calculation> {
        auto rp = self->make_response_promise<bundle_price_calculation>();
        bool queued = when_loaded(self, [self, m, rp]() mutable {
          bundle_price_calculation out;
          if (auto f = quote_bundle(self->state.model, m, out)) rp.deliver(to_error(*f));
          else rp.deliver(std::move(out));
        });
        if (!queued) rp.deliver(make_failure(failure_kind::unavailable, "unavailable", "Catalogue is loading"));
        return rp;
      },
      [self](outbox_stats) -> caf::result<outbox_stats_reply> {
        auto rp = self->make_response_promise<outbox_stats_reply>();
        db::pool* pool = self->state.shell->context().database;
        if (!pool) {
          rp.deliver(outbox_stats_reply{});
          return rp;
        }
        db_transact<outbox_health>(self, *pool, [](pqxx::work& tx) { return read_outbox_health(tx); },
                                   [rp](db::outcome<outbox_health> r) mutable {
                                     if (!r.ok()) {
                                       rp.deliver(make_failure(db_failure(*r.failure)));
                                       return;
                                     }
                                     rp.deliver(outbox_stats_reply{r.value->pending, r.value->oldest_age_seconds,
                                                                   r.value->failed});
                                   });
        return rp;
      },
      [self](event& e) {
        if (e.name == "order.order_confirmed") {
          when_loaded(self, [self, e] { on_order_confirmed(self, e); });
        } else if (e.name == "inventory.stock_changed") {
          when_loaded(self, [self, e] { on_stock_changed(self, e); });
        }
      },
  };
}

}  // namespace
}  // namespace product

caf::actor spawn_product_agent(caf::local_actor* supervisor, const agent_context& ctx) {
  return caf::actor_cast<caf::actor>(supervisor->spawn<caf::linked>(product::product_agent, ctx));
}

}  // namespace mercato
