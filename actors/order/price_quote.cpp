// POST /orders/quote: what an order would cost, without side effects. The same reading of the body
// and the same built-in pricing as a placement (list price, flat-rate shipping, the tax table), with
// each line's availability and every shipping option; nothing is reserved or written.
#include "customer/customer_messages.hpp"
#include "inventory/inventory_messages.hpp"
#include "order/order_agent_state.hpp"
#include "order/order_pricing.hpp"
#include "order/order_request.hpp"
#include "order/placement_draft.hpp"
#include "order/promotions_builtin.hpp"
#include "order/shipping_rates.hpp"
#include "product/product_messages.hpp"
#include "runtime/agent_call.hpp"
#include "runtime/clock.hpp"

namespace mercato::order {

namespace {

failure invalid_failure(const input::issue_list& issues) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& i : issues) list.push_back({{"loc", i.loc}, {"msg", i.msg}, {"type", i.type}});
  return {failure_kind::invalid, "invalid", issues.empty() ? "Validation error" : issues.front().msg, list.dump()};
}

// The pricing step without side effects: resolve, price with the built-in steps, stock per line.
void quote_with_rates(order_self self, const nlohmann::json& body, json_done done) {
  auto issues = std::make_shared<input::issue_list>();
  auto req = std::make_shared<place_request>(read_place_request(body, *issues, true));
  quote_promotions(req->promotion_codes, *issues);
  if (!flat_rate(self->state.shipping, req->shipping_service_level, 0))
    issues->push_back({{"body", "shipping_service_level"},
                       "Unknown shipping service level '" + req->shipping_service_level + "'", "value_error"});
  if (!issues->empty()) {
    auto f = invalid_failure(*issues);
    return done(&f, nullptr);
  }
  std::vector<product::item_ref> refs;
  for (const auto& l : req->lines) refs.push_back({l.ref, l.variant_id, l.quantity, l.selected_components});
  ask_agent_resending<product_actor>(
      self, self->state.ctx, "product", product::resolve_items{std::move(refs)},
      [self, req, done](product::resolved_items& r) {
        auto items = std::make_shared<product::resolved_items>(std::move(r));
        std::vector<inventory::stock_line> stock;
        for (size_t i = 0; i < items->items.size(); ++i) stock.push_back({items->items[i].item_id, req->lines[i].quantity, {}});
        ask_agent_resending<inventory_actor>(
            self, self->state.ctx, "inventory", inventory::check_availability{stock},
            [self, req, items, done](inventory::availability_report& rep) {
              std::vector<line_price> prices;
              for (size_t i = 0; i < items->items.size(); ++i)
                prices.push_back({items->items[i].list_price, req->lines[i].quantity});
              money::cents merchandise = 0;
              for (const auto& p : prices) merchandise += p.unit_price * p.quantity;
              auto ship = flat_rate(self->state.shipping, req->shipping_service_level, merchandise);
              const auto& addr = req->shipping_address;
              const auto rate = addr.is_null() ? 0
                                               : pick_tax_rate(self->state.tax_rates, address_country(addr),
                                                               address_region(addr), clock::iso8601_now());
              auto t = price_order(prices, 0, ship->cost, rate);
              nlohmann::json lines = nlohmann::json::array();
              for (size_t i = 0; i < items->items.size(); ++i) {
                const auto& it = items->items[i];
                lines.push_back({{"product_id", it.item_id},
                                 {"sku", it.sku},
                                 {"name", it.name},
                                 {"image_url", it.image_url},
                                 {"unit_price", money::to_json(it.list_price)},
                                 {"quantity", req->lines[i].quantity},
                                 {"line_total", money::to_json(t.lines[i].total_price)},
                                 {"discount", money::to_json(t.lines[i].discount)},
                                 {"tax", money::to_json(t.lines[i].tax)},
                                 {"available", i < rep.lines.size() ? rep.lines[i].available : false}});
              }
              nlohmann::json options = nlohmann::json::array();
              for (const auto& q : flat_rate_options(self->state.shipping, merchandise))
                options.push_back({{"carrier_code", q.carrier_code},
                                   {"service_level", q.service_level},
                                   {"final_cost", money::to_json(q.cost)},
                                   {"estimated_delivery_date",
                                    clock::iso8601(std::chrono::system_clock::now() + std::chrono::hours(24 * q.transit_days))
                                        .substr(0, 10)}});
              nlohmann::json out = {{"lines", lines},
                                    {"subtotal", money::to_json(t.subtotal)},
                                    {"discount", money::to_json(t.discount)},
                                    {"shipping", money::to_json(t.shipping)},
                                    {"shipping_options", options},
                                    {"tax", money::to_json(t.tax)},
                                    {"total", money::to_json(t.total)},
                                    {"currency", store_currency},
                                    {"applied_promotions", nlohmann::json::array()},
                                    {"rejected_codes", nlohmann::json::array()},
                                    {"points_value", 0},
                                    {"store_credit_value", 0}};
              done(nullptr, out);
            },
            [done](const failure& f) { done(&f, nullptr); });
      },
      [done](const failure& f) {
        if (f.kind == failure_kind::unavailable) return done(&f, nullptr);
        auto inv = invalid_failure({product_refusal_issue(f)});
        done(&inv, nullptr);
      });
}

}  // namespace

void price_quote(order_self self, const nlohmann::json& body, json_done done) {
  // The tax table is loaded at start: a quote that arrives before it waits for it, as the first
  // order does, so that quote and order price alike.
  if (!self->state.tax_loaded)
    return reload_tax_rates(self, [self, body, done] { quote_with_rates(self, body, done); });
  quote_with_rates(self, body, done);
}

}  // namespace mercato::order
