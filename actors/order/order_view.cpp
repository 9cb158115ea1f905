// Rendering orders for REST (see order_view.hpp) and the saga context's JSON form.
#include "order/order_view.hpp"

namespace mercato::order {
namespace {

nlohmann::json text_or_null(const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); }

// Every gift field, whether the client sent some, all or none of them (as a stored order reads).
nlohmann::json full_gift_options(const nlohmann::json& g) {
  const auto field = [&](const char* key, nlohmann::json fallback) {
    return g.is_object() && g.contains(key) ? g[key] : fallback;
  };
  return {{"is_gift", field("is_gift", false)},
          {"gift_message", field("gift_message", nullptr)},
          {"gift_wrap_type", field("gift_wrap_type", nullptr)},
          {"hide_prices", field("hide_prices", false)},
          {"gift_receipt", field("gift_receipt", false)}};
}

}  // namespace

money::cents line_paid(const order_line& l) { return l.total_price - l.discount_amount + l.tax_amount; }

nlohmann::json render_order_view(const order_record& o) {
  using money::to_json;
  nlohmann::json items = nlohmann::json::array();
  for (const auto& l : o.lines) {
    const money::cents paid = line_paid(l);
    items.push_back({{"item_id", l.item_id},
                     {"order_item_id", l.item_id},
                     {"line_number", l.line_number},
                     {"product_id", l.product_id},
                     {"variant_id", text_or_null(l.variant_id)},
                     {"sku", l.sku},
                     {"product_name", l.product_name},
                     {"category", l.category},
                     {"bundle_components", l.bundle_components},
                     {"quantity", l.quantity},
                     {"unit_price", to_json(l.unit_price)},
                     {"discount_amount", to_json(l.discount_amount)},
                     {"tax_amount", to_json(l.tax_amount)},
                     {"total_price", to_json(l.total_price)},
                     {"unit_price_paid", to_json(l.quantity > 0 ? (paid * 2 + l.quantity) / (2 * l.quantity) : 0)},
                     {"quantity_shipped", l.quantity_shipped},
                     {"quantity_delivered", l.quantity_delivered},
                     {"quantity_returned", l.quantity_returned}});
  }
  const std::string customer_display = !o.customer_name.empty() ? o.customer_name : o.customer_email;
  nlohmann::json v = {
      {"id", o.order_id},
      {"order_id", o.order_id},
      {"order_number", o.order_number},
      {"customer_id", o.customer_id},
      {"customer_name", o.customer_name},
      {"customer_email", o.customer_email},
      {"customer", {{"id", o.customer_id}, {"name", customer_display}, {"email", o.customer_email}}},
      {"channel", o.channel},
      {"channel_name", o.channel_name},
      {"marketplace", {{"name", o.channel_name.empty() ? o.channel : o.channel_name}, {"icon", nullptr}}},
      {"channel_order_id", text_or_null(o.channel_order_id)},
      {"status", o.status},
      {"payment_status", o.payment_status},
      {"fulfillment_status", o.fulfillment_status},
      {"return_status", o.return_status},
      {"fraud_decision", text_or_null(o.fraud_decision)},
      {"fraud_score", o.fraud_score ? nlohmann::json(*o.fraud_score) : nlohmann::json()},
      {"currency", o.currency},
      {"subtotal", to_json(o.subtotal)},
      {"discount_amount", to_json(o.discount_amount)},
      {"shipping_cost", to_json(o.shipping_cost)},
      {"shipping_amount", to_json(o.shipping_cost)},
      {"tax_amount", to_json(o.tax_amount)},
      {"total_amount", to_json(o.total_amount)},
      {"total", to_json(o.total_amount)},
      {"amount_authorized", to_json(o.amount_authorized)},
      {"amount_captured", to_json(o.amount_captured)},
      {"amount_refunded", to_json(o.amount_refunded)},
      {"promotion_codes", o.promotion_codes},
      {"points_redeemed", o.points_redeemed},
      {"store_credit_used", to_json(o.store_credit_used)},
      {"payment_due_at", text_or_null(o.payment_due_at)},
      {"review_due_at", text_or_null(o.review_due_at)},
      {"items", std::move(items)},
      {"shipping_address", o.shipping_address},
      {"billing_address", o.billing_address},
      {"shipping_service_level", o.shipping_service_level},
      {"carrier_code", text_or_null(o.carrier_code)},
      {"notes", text_or_null(o.notes)},
      {"tags", o.tags},
      {"gift_options", full_gift_options(o.gift_options)},
      {"priority_level", o.priority_level},
      {"scheduled_delivery_date", text_or_null(o.scheduled_delivery_date)},
      {"delivery_instructions", text_or_null(o.delivery_instructions)},
      {"is_split_order", o.is_split_order},
      {"parent_order_id", text_or_null(o.parent_order_id)},
      {"replacement_of", text_or_null(o.replacement_of)},
      {"cancellation_reason", text_or_null(o.cancellation_reason)},
      {"cancelled_at", text_or_null(o.cancelled_at)},
      {"cancelled_by", text_or_null(o.cancelled_by)},
      {"metadata", o.metadata},
      {"created_at", o.created_at},
      {"createdAt", o.created_at},
      {"updated_at", o.updated_at},
      {"confirmed_at", text_or_null(o.confirmed_at)},
      {"shipped_at", text_or_null(o.shipped_at)},
      {"delivered_at", text_or_null(o.delivered_at)},
  };
  return v;
}

nlohmann::json render_recent_row(const order_record& o) {
  return {{"id", o.order_id},
          {"order_number", o.order_number},
          {"customer", !o.customer_name.empty() ? o.customer_name : o.customer_email},
          {"date", o.created_at},
          {"amount", money::to_json(o.total_amount)},
          {"status", o.status},
          {"marketplace", o.channel_name.empty() ? o.channel : o.channel_name}};
}

nlohmann::json to_json(const place_context& c) {
  return {{"customer_id", c.customer_id},
          {"customer_email", c.customer_email},
          {"customer_phone", c.customer_phone},
          {"ip_address", c.ip_address},
          {"address_mismatch", c.address_mismatch},
          {"account_age_days", c.account_age_days},
          {"order_count_24h", c.order_count_24h},
          {"redeem_points", c.redeem_points},
          {"store_credit", c.store_credit},
          {"merchandise_amount", c.merchandise_amount},
          {"total", c.total},
          {"currency", c.currency},
          {"payment",
           {{"type", c.payment.type},
            {"method_id", c.payment.method_id},
            {"token", c.payment.token},
            {"gateway_id", c.payment.gateway_id},
            {"source", c.payment.source}}},
          {"payment_attempt", c.payment_attempt},
          {"fraud_decision", c.fraud_decision},
          {"fraud_score", c.fraud_score},
          {"fraud_check_id", c.fraud_check_id},
          {"reserved", c.reserved},
          {"redeemed", c.redeemed},
          {"review_approved", c.review_approved},
          {"authorized", c.authorized},
          {"cancel_reason", c.cancel_reason},
          {"idempotency_key", c.idempotency_key},
          {"requested_by", c.requested_by}};
}

place_context place_context_from_json(const nlohmann::json& j) {
  place_context c;
  if (!j.is_object()) return c;
  c.customer_id = j.value("customer_id", "");
  c.customer_email = j.value("customer_email", "");
  c.customer_phone = j.value("customer_phone", "");
  c.ip_address = j.value("ip_address", "");
  c.address_mismatch = j.value("address_mismatch", false);
  c.account_age_days = j.value("account_age_days", int64_t{-1});
  c.order_count_24h = j.value("order_count_24h", int64_t{-1});
  c.redeem_points = j.value("redeem_points", int64_t{0});
  c.store_credit = j.value("store_credit", int64_t{0});
  c.merchandise_amount = j.value("merchandise_amount", int64_t{0});
  c.total = j.value("total", int64_t{0});
  c.currency = j.value("currency", std::string{store_currency});
  if (auto p = j.find("payment"); p != j.end() && p->is_object()) {
    c.payment.type = p->value("type", "card");
    c.payment.method_id = p->value("method_id", "");
    c.payment.token = p->value("token", "");
    c.payment.gateway_id = p->value("gateway_id", 0);
    c.payment.source = p->value("source", "");
  }
  c.payment_attempt = j.value("payment_attempt", 1);
  c.fraud_decision = j.value("fraud_decision", "");
  c.fraud_score = j.value("fraud_score", int64_t{-1});
  c.fraud_check_id = j.value("fraud_check_id", "");
  c.reserved = j.value("reserved", false);
  c.redeemed = j.value("redeemed", false);
  c.review_approved = j.value("review_approved", false);
  c.authorized = j.value("authorized", false);
  c.cancel_reason = j.value("cancel_reason", "");
  c.idempotency_key = j.value("idempotency_key", "");
  c.requested_by = j.value("requested_by", "");
  return c;
}

}  // namespace mercato::order
