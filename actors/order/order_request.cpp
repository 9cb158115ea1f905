// Reading POST /orders bodies (see order_request.hpp).
#include "order/order_request.hpp"

#include <algorithm>
#include <cctype>

namespace mercato::order {
namespace {

using input::object_reader;

const nlohmann::json* find_any(const nlohmann::json& o, std::initializer_list<const char*> keys) {
  if (!o.is_object()) return nullptr;
  for (const char* k : keys) {
    auto it = o.find(k);
    if (it != o.end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

std::string text_of(const nlohmann::json* v) {
  if (!v) return {};
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number_integer()) return v->dump();
  return {};
}

void read_line(const nlohmann::json& item, std::vector<std::string> loc, input::issue_list& issues,
               line_request& out) {
  object_reader r{item, loc, issues};
  if (!item.is_object()) {
    r.issue(loc, "value is not a valid dict", "type_error.dict");
    return;
  }
  if (auto ref = r.string("product_id", input::required, 1, 100)) out.ref = *ref;
  if (auto v = r.string("variant_id", input::optional, 0, 100)) out.variant_id = *v;
  if (auto q = r.integer("quantity", input::required, 1, 10000)) out.quantity = *q;
  auto price_key = r.first_present({"unit_price", "price"});
  if (!price_key.empty()) out.expected_unit_price = r.amount(price_key, input::optional);
  if (auto c = r.strings("selected_components", input::optional, 100, 100))
    out.selected_components = *c;
}

}  // namespace

std::string address_country(const nlohmann::json& a) {
  std::string c = text_of(find_any(a, {"country", "country_code"}));
  std::transform(c.begin(), c.end(), c.begin(), [](unsigned char ch) { return std::toupper(ch); });
  return c;
}
std::string address_region(const nlohmann::json& a) {
  std::string r = text_of(find_any(a, {"state", "region", "state_province", "province", "state_code"}));
  std::transform(r.begin(), r.end(), r.begin(), [](unsigned char ch) { return std::toupper(ch); });
  return r;
}
std::string address_postal_code(const nlohmann::json& a) {
  return text_of(find_any(a, {"postal_code", "zip", "postcode", "zip_code"}));
}

bool check_address(const nlohmann::json& a, std::vector<std::string> loc, input::issue_list& issues) {
  auto add = [&](const char* field, const char* msg) {
    auto l = loc;
    l.emplace_back(field);
    issues.push_back({l, msg, "value_error.missing"});
  };
  if (!a.is_object()) {
    issues.push_back({loc, "value is not a valid dict", "type_error.dict"});
    return false;
  }
  const size_t before = issues.size();
  const std::string country = address_country(a);
  if (country.empty()) {
    add("country", "field required");
  } else if (country.size() != 2 || !std::isalpha(static_cast<unsigned char>(country[0])) ||
             !std::isalpha(static_cast<unsigned char>(country[1]))) {
    auto l = loc;
    l.emplace_back("country");
    issues.push_back({l, "country must be an ISO 3166-1 alpha-2 code", "value_error"});
  }
  if (text_of(find_any(a, {"city"})).empty()) add("city", "field required");
  if (address_postal_code(a).empty()) add("postal_code", "field required");
  if (text_of(find_any(a, {"street", "line1", "address1", "street_address_1", "address_line1"})).empty())
    add("street", "field required");
  return issues.size() == before;
}

place_request read_place_request(const nlohmann::json& body, input::issue_list& issues,
                                 bool for_quote) {
  place_request out;
  object_reader r{body, {"body"}, issues};
  if (!body.is_object()) {
    r.issue(std::vector<std::string>{"body"}, "value is not a valid dict", "type_error.dict");
    return out;
  }
  if (auto c = r.string("customer_id", for_quote ? input::optional : input::required, 1, 100))
    out.customer_id = *c;

  // items or lines, 1..200
  const char* lines_key = r.has("items") || !r.has("lines") ? "items" : "lines";
  if (const auto* items = r.array(lines_key, input::required, 1, 200)) {
    out.lines.resize(items->size());
    for (size_t i = 0; i < items->size(); ++i)
      read_line((*items)[i], {"body", lines_key, std::to_string(i)}, issues, out.lines[i]);
  }

  if (const auto* a = r.object("shipping_address", input::optional)) {
    if (check_address(*a, {"body", "shipping_address"}, issues)) out.shipping_address = *a;
  }
  if (const auto* a = r.object("billing_address", input::optional)) out.billing_address = *a;
  if (auto n = r.string("notes", input::optional, 0, 2000)) out.notes = *n;
  if (auto c = r.choice("channel", input::optional,
                        {"direct", "d2c", "marketplace", "replacement", "pos"}))
    out.channel = *c;
  if (auto c = r.string("channel_name", input::optional, 0, 200)) out.channel_name = *c;
  if (auto c = r.string("channel_order_id", input::optional, 1, 200)) out.channel_order_id = *c;
  if (auto c = r.string("currency", input::optional, 3, 3)) {
    std::string cur = *c;
    std::transform(cur.begin(), cur.end(), cur.begin(), [](unsigned char ch) { return std::toupper(ch); });
    if (cur != store_currency)
      r.issue("currency", std::string{"Only "} + store_currency + " is accepted", "value_error");
    out.currency = cur;
  }

  // promotion_codes ≤ 5 (alias promotion_code: one code)
  if (r.has("promotion_codes")) {
    if (auto codes = r.strings("promotion_codes", input::optional, 5, 50)) out.promotion_codes = *codes;
  } else if (auto code = r.string("promotion_code", input::optional, 1, 50)) {
    out.promotion_codes.push_back(*code);
  }
  if (auto p = r.integer("redeem_points", input::optional, 0, 100'000'000)) out.redeem_points = *p;
  if (auto c = r.amount("use_store_credit", input::optional)) out.use_store_credit = *c;

  // shipping: flat fields, or nested shipping{service_level, carrier_code, amount}
  if (const auto* s = r.object("shipping", input::optional)) {
    object_reader sr{*s, {"body", "shipping"}, issues};
    if (auto v = sr.string("service_level", input::optional, 1, 50)) out.shipping_service_level = *v;
    if (auto v = sr.string("carrier_code", input::optional, 0, 50)) out.carrier_code = *v;
    if (sr.has("amount")) out.expected_shipping = sr.amount("amount", input::optional);
    if (const auto* d = sr.object("destination", input::optional)) {
      if (out.shipping_address.is_null() && check_address(*d, {"body", "shipping", "destination"}, issues))
        out.shipping_address = *d;
    }
  }
  if (auto v = r.string("shipping_service_level", input::optional, 1, 50)) out.shipping_service_level = *v;
  if (auto v = r.string("carrier_code", input::optional, 0, 50)) out.carrier_code = *v;
  auto ship_key = r.first_present({"shipping_amount", "shipping_cost"});
  if (!ship_key.empty()) out.expected_shipping = r.amount(ship_key, input::optional);
  auto total_key = r.first_present({"total_amount", "expected_total"});
  if (!total_key.empty()) out.expected_total = r.amount(total_key, input::optional);

  // payment: flat fields, or nested payment{type, payment_method_id, token, gateway_id, ...}
  if (!for_quote) {
    if (const auto* p = r.object("payment", input::optional)) {
      object_reader pr{*p, {"body", "payment"}, issues};
      if (auto t = pr.choice("type", input::optional, {"card", "marketplace", "external"}))
        out.payment.type = *t;
      if (auto v = pr.string("payment_method_id", input::optional, 0, 100)) out.payment.method_id = *v;
      if (auto v = pr.string("token", input::optional, 0, 200)) out.payment.token = *v;
      if (auto v = pr.string("payment_token", input::optional, 0, 200)) out.payment.token = *v;
      if (auto v = pr.integer("gateway_id", input::optional, 0, 1'000'000))
        out.payment.gateway_id = static_cast<int>(*v);
      auto src = pr.first_present({"connection_id", "store_id"});
      if (!src.empty())
        if (auto v = pr.string(src, input::optional, 0, 200)) out.payment.source = *v;
    }
    if (auto v = r.string("payment_method_id", input::optional, 0, 100)) out.payment.method_id = *v;
    if (auto v = r.string("payment_token", input::optional, 0, 200)) out.payment.token = *v;
    if (auto v = r.integer("gateway_id", input::optional, 0, 1'000'000))
      out.payment.gateway_id = static_cast<int>(*v);
  }
  if (auto ps = r.choice("price_source", input::optional, {"catalog", "channel"})) {
    out.channel_prices = *ps == "channel";
    if (out.channel_prices && out.payment.type == "card")
      r.issue("price_source", "price_source 'channel' requires a marketplace or external payment",
              "value_error");
  }
  if (out.channel_prices && r.has("tax_amount")) out.channel_tax = r.amount("tax_amount", input::optional);

  if (const auto* g = r.object("gift_options", input::optional)) out.gift_options = *g;
  if (auto v = r.string("scheduled_delivery_date", input::optional, 10, 40))
    out.scheduled_delivery_date = v->substr(0, 10);
  if (auto v = r.string("delivery_instructions", input::optional, 0, 2000)) out.delivery_instructions = *v;
  if (auto v = r.choice("priority_level", input::optional, {"low", "normal", "high", "urgent"}))
    out.priority_level = *v;
  if (auto t = r.strings("tags", input::optional, 20, 50)) out.tags = *t;
  if (const auto* m = r.object("metadata", input::optional)) out.metadata = *m;
  if (auto v = r.string("ip_address", input::optional, 0, 64)) out.ip_address = *v;
  return out;
}

}  // namespace mercato::order
