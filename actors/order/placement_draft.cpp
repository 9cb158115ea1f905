// Building and pricing a placement's order before it is written (see placement_draft.hpp).
#include "order/placement_draft.hpp"

#include <algorithm>

#include "order/order_request.hpp"
#include "runtime/uuid.hpp"

namespace mercato::order {

namespace {

nlohmann::json ship_to(const place_request& req, const customer::customer_profile& customer) {
  if (!req.shipping_address.is_null() || customer.default_shipping_address_json.empty())
    return req.shipping_address;
  auto address = nlohmann::json::parse(customer.default_shipping_address_json, nullptr, false);
  input::issue_list ignored;
  if (address.is_discarded() || !check_address(address, {"body", "shipping_address"}, ignored)) return nullptr;
  return address;
}

}  // namespace

std::optional<placement_draft> draft_placement(const place_request& req, const customer::customer_profile& customer,
                                               const std::vector<product::resolved_item>& items,
                                               const std::string& idempotency_key, const std::string& requested_by,
                                               input::issue_list& issues) {
  nlohmann::json ship = ship_to(req, customer);
  if (ship.is_null()) {
    issues.push_back({{"body", "shipping_address"}, "field required", "value_error.missing"});
    return std::nullopt;
  }
  nlohmann::json bill = req.billing_address.is_null() ? ship : req.billing_address;
  placement_draft d;
  auto& o = d.order;
  o.order_id = uuid_v4();
  o.customer_id = req.customer_id;
  o.customer_name = customer.first_name + (customer.last_name.empty() ? "" : " " + customer.last_name);
  o.customer_email = customer.email;
  o.channel = req.channel;
  o.channel_name = req.channel_name;
  o.channel_order_id = req.channel_order_id;
  o.currency = req.currency;
  o.promotion_codes = {};
  o.shipping_service_level = req.shipping_service_level;
  o.shipping_address = ship;
  o.billing_address = bill;
  o.notes = req.notes;
  o.gift_options = req.gift_options.is_null() ? nlohmann::json::object() : req.gift_options;
  o.scheduled_delivery_date = req.scheduled_delivery_date;
  o.delivery_instructions = req.delivery_instructions;
  o.priority_level = req.priority_level;
  o.tags = req.tags;
  o.metadata = req.metadata;
  for (size_t i = 0; i < items.size() && i < req.lines.size(); ++i) {
    const auto& it = items[i];
    const auto& lr = req.lines[i];
    order_line l;
    l.item_id = uuid_v4();
    l.line_number = static_cast<int>(i + 1);
    l.product_id = it.item_id;
    l.variant_id = it.variant_id;
    l.sku = it.sku;
    l.product_name = it.name;
    l.category = it.category;
    l.quantity = lr.quantity;
    // a client-sent price only stands for a channel's order (marketplace, d2c); never for the shop's own
    l.unit_price = req.channel_prices && lr.expected_unit_price ? *lr.expected_unit_price : it.list_price;
    d.sku_of[it.item_id] = it.sku;
    if (!it.components.empty()) {
      l.bundle_components = nlohmann::json::array();
      for (const auto& c : it.components) {
        l.bundle_components.push_back({{"item_id", c.item_id}, {"sku", c.sku}, {"quantity", c.quantity}});
        d.stock.push_back({c.item_id, c.quantity * lr.quantity, {}});
        d.sku_of[c.item_id] = c.sku;
      }
    } else {
      d.stock.push_back({it.item_id, lr.quantity, {}});
    }
    d.prices.push_back({l.unit_price, l.quantity});
    if (!req.channel_prices) d.expected.push_back({it.sku, lr.expected_unit_price, l.unit_price});
    o.lines.push_back(std::move(l));
  }
  money::cents subtotal = 0;
  for (const auto& x : d.prices) subtotal += x.unit_price * x.quantity;
  auto& c = d.context;
  c.customer_id = o.customer_id;
  c.customer_email = customer.email;
  c.customer_phone = customer.phone;
  c.account_age_days = customer.account_age_days;
  c.ip_address = req.ip_address;
  c.address_mismatch = address_country(bill) != address_country(ship) ||
                       address_postal_code(bill) != address_postal_code(ship);
  c.currency = o.currency;
  c.payment = req.payment;
  c.idempotency_key = idempotency_key;
  c.requested_by = requested_by;
  c.merchandise_amount = subtotal;
  c.store_credit = std::min(req.use_store_credit, customer.store_credit_balance);
  if (req.redeem_points > 0) c.redeem_points = req.redeem_points;
  return d;
}

std::string price_draft(placement_draft& draft, const place_request& req, money::cents points_value,
                        const shipping_table& shipping, int64_t tax_rate_e5) {
  auto& o = draft.order;
  auto& c = draft.context;
  const money::cents discount = points_value + c.store_credit;
  money::cents merchandise = 0;
  for (const auto& x : draft.prices) merchandise += x.unit_price * x.quantity;
  money::cents shipping_cost = 0;
  if (req.channel_prices) {
    shipping_cost = req.expected_shipping.value_or(0);
    o.carrier_code = req.carrier_code;
  } else {
    auto q = flat_rate(shipping, req.shipping_service_level, std::max<money::cents>(0, merchandise - discount));
    if (!q) return "Unknown shipping service level '" + req.shipping_service_level + "'";
    shipping_cost = q->cost;
    o.carrier_code = q->carrier_code;
  }
  auto t = price_order(draft.prices, discount, shipping_cost, tax_rate_e5,
                       req.channel_prices ? req.channel_tax : std::nullopt);
  for (size_t i = 0; i < o.lines.size(); ++i) {
    o.lines[i].total_price = t.lines[i].total_price;
    o.lines[i].discount_amount = t.lines[i].discount;
    o.lines[i].tax_amount = t.lines[i].tax;
  }
  o.subtotal = t.subtotal;
  o.discount_amount = t.discount;
  o.shipping_cost = t.shipping;
  o.tax_amount = t.tax;
  o.total_amount = t.total;
  if (c.store_credit > 0 && discount > t.discount) c.store_credit = std::max<money::cents>(0, t.discount - points_value);
  o.store_credit_used = c.store_credit;
  o.points_redeemed = c.redeem_points;
  c.total = t.total;
  return check_expected(draft.expected, req.channel_prices ? std::nullopt : req.expected_shipping, t.shipping,
                        req.expected_total, t.total);
}

http::validation_issue product_refusal_issue(const failure& refusal) {
  auto d = nlohmann::json::parse(refusal.detail.empty() ? "{}" : refusal.detail, nullptr, false);
  const int64_t index = d.is_object() ? d.value("index", int64_t{0}) : 0;
  std::string msg = refusal.message.empty() ? "Product not found" : refusal.message;
  if (refusal.code == "variant_required") msg = "Product has variants; choose a variant";
  return {{"body", "items", std::to_string(index), "product_id"}, msg, "value_error.not_found"};
}

}  // namespace mercato::order
