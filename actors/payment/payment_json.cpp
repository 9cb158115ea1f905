// JSON rendering (see payment_json.hpp).
#include "payment/payment_json.hpp"

#include "payment/payment_fsm.hpp"

namespace mercato::payment {
namespace {
using json = nlohmann::json;
json text_or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }
json risk_or_null(int score) { return score < 0 ? json(nullptr) : json(score); }
}  // namespace

json gateway_json(const gateway_row& g, bool configured) {
  return json{{"gateway_id", g.gateway_id},
              {"gateway_name", g.gateway_name},
              {"gateway_type", g.gateway_type},
              {"is_active", g.is_active && configured},
              {"is_test_mode", g.is_test_mode},
              {"supported_currencies", g.currencies},
              {"transaction_fee_percent", money::to_json(g.fee_percent_e2)},
              {"transaction_fee_fixed", money::to_json(g.fee_fixed)},
              {"min_transaction_amount", money::to_json(g.min_amount)},
              {"max_transaction_amount", money::to_json(g.max_amount)},
              {"configured", configured},
              {"created_at", g.created_at},
              {"updated_at", g.updated_at}};
}

json method_json(const method_row& m) {
  return json{{"method_id", m.method_id},
              {"customer_id", m.customer_id},
              {"gateway_id", m.gateway_id},
              {"method_type", m.method_type},
              {"is_default", m.is_default},
              {"card_last_four", text_or_null(m.card_last_four)},
              {"card_brand", text_or_null(m.card_brand)},
              {"card_expiry_month", m.expiry_month ? json(m.expiry_month) : json(nullptr)},
              {"card_expiry_year", m.expiry_year ? json(m.expiry_year) : json(nullptr)},
              {"card_holder_name", text_or_null(m.holder_name)},
              {"is_verified", m.is_verified},
              {"created_at", m.created_at},
              {"updated_at", m.updated_at}};
}

json transaction_json(const transaction_row& t, const payment_row& p, bool test_mode) {
  return json{{"transaction_id", t.transaction_id},
              {"payment_id", t.payment_id},
              {"order_id", text_or_null(t.order_id)},
              {"customer_id", t.customer_id},
              {"gateway_id", t.gateway_id},
              {"payment_method_id", text_or_null(t.payment_method_id)},
              {"transaction_type", t.type},
              {"transaction_status", t.status},
              {"amount", money::to_json(t.amount)},
              {"currency", t.currency},
              {"fee_amount", money::to_json(t.fee)},
              {"net_amount", money::to_json(t.net)},
              {"gateway_transaction_id", text_or_null(t.gateway_transaction_id)},
              {"authorization_code", text_or_null(t.authorization_code)},
              {"risk_score", risk_or_null(t.risk_score)},
              {"risk_level", text_or_null(t.risk_level)},
              {"error_code", text_or_null(t.error_code)},
              {"error_message", text_or_null(t.error_message)},
              {"initiated_at", t.initiated_at},
              {"completed_at", text_or_null(t.completed_at)},
              {"created_at", t.created_at},
              {"updated_at", t.updated_at},
              {"payment_status", p.status},
              {"test_mode", test_mode}};
}

json refund_json(const refund_row& r) {
  return json{{"refund_id", r.refund_id},
              {"transaction_id", r.transaction_id},
              {"payment_id", r.payment_id},
              {"customer_id", r.customer_id},
              {"order_id", text_or_null(r.order_id)},
              {"refund_type", r.refund_type},
              {"refund_reason", r.refund_reason},
              {"refund_amount", money::to_json(r.amount)},
              {"currency", r.currency},
              {"refund_status", r.status},
              {"gateway_refund_id", text_or_null(r.gateway_refund_id)},
              {"error_code", text_or_null(r.error_code)},
              {"error_message", text_or_null(r.error_message)},
              {"notes", text_or_null(r.notes)},
              {"requested_by", text_or_null(r.requested_by)},
              {"requested_at", r.requested_at},
              {"completed_at", text_or_null(r.completed_at)},
              {"created_at", r.created_at},
              {"updated_at", r.updated_at}};
}

json payment_json(const payment_row& p, const std::optional<method_row>& method,
                  const std::vector<transaction_row>& transactions,
                  const std::vector<refund_row>& refunds) {
  payment_amounts a{p.status, p.authorized, p.captured, p.refunded, p.capture_final, p.expired};
  json j{{"payment_id", p.payment_id},
         {"order_id", text_or_null(p.order_id)},
         {"customer_id", p.customer_id},
         {"gateway_id", p.gateway_id},
         {"method", method ? method_json(*method) : json(nullptr)},
         {"method_id", text_or_null(p.method_id)},
         {"status", p.status},
         {"currency", p.currency},
         {"amount", money::to_json(p.amount)},
         {"authorized_amount", money::to_json(p.authorized)},
         {"captured_amount", money::to_json(p.captured)},
         {"refunded_amount", money::to_json(p.refunded)},
         {"remaining_amount", money::to_json(capturable_remaining(a))},
         {"refundable_amount", money::to_json(refundable_amount(a))},
         {"fee_amount", money::to_json(p.fee)},
         {"authorization_code", text_or_null(p.authorization_code)},
         {"risk_score", risk_or_null(p.risk_score)},
         {"risk_level", text_or_null(p.risk_level)},
         {"source", text_or_null(p.source)},
         {"capture_final", p.capture_final},
         {"multicapture", p.multicapture},  // a partial capture may leave the rest open
         {"expires_at", text_or_null(p.expires_at)},
         {"created_at", p.created_at},
         {"updated_at", p.updated_at}};
  json ts = json::array();
  for (const auto& t : transactions) ts.push_back(transaction_json(t, p, p.gateway_id == 1));
  json rs = json::array();
  for (const auto& r : refunds) rs.push_back(refund_json(r));
  j["transactions"] = std::move(ts);
  j["refunds"] = std::move(rs);
  return j;
}

json authorization_json(const payment_row& p, const transaction_row& t) {
  std::string status = p.status;
  if (status == "voided") status = "cancelled";
  if (status == "partially_captured" || status == "partially_refunded" || status == "refunded")
    status = "captured";
  payment_amounts a{p.status, p.authorized, p.captured, p.refunded, p.capture_final, p.expired};
  return json{{"authorization_id", p.payment_id},
              {"order_id", text_or_null(p.order_id)},
              {"customer_id", p.customer_id},
              {"payment_method_id", text_or_null(p.method_id)},
              {"gateway_id", p.gateway_id},
              {"authorization_amount", money::to_json(p.amount)},
              {"currency", p.currency},
              {"authorization_code", text_or_null(p.authorization_code)},
              {"authorization_status", status},
              {"captured_amount", money::to_json(p.captured)},
              {"remaining_amount", money::to_json(capturable_remaining(a))},
              {"gateway_authorization_id", text_or_null(p.gateway_reference)},
              {"expires_at", text_or_null(p.expires_at)},
              {"authorized_at", text_or_null(p.authorized_at)},
              {"error_code", text_or_null(t.error_code)},
              {"error_message", text_or_null(t.error_message)},
              {"transaction_id", t.transaction_id},
              {"test_mode", p.gateway_id == 1},
              {"created_at", p.created_at},
              {"updated_at", p.updated_at}};
}

payment_view to_view(const payment_row& p, const std::string& transaction_id) {
  payment_view v;
  v.payment_id = p.payment_id;
  v.order_id = p.order_id;
  v.customer_id = p.customer_id;
  v.gateway_id = p.gateway_id;
  v.method_id = p.method_id;
  v.status = p.status;
  v.currency = p.currency;
  v.authorized_amount = p.authorized;
  v.captured_amount = p.captured;
  v.refunded_amount = p.refunded;
  v.fee_amount = p.fee;
  v.authorization_code = p.authorization_code;
  v.expires_at = p.expires_at;
  v.transaction_id = transaction_id;
  return v;
}

refund_view to_refund_view(const refund_row& r) {
  return refund_view{r.refund_id, r.payment_id, r.order_id, r.amount, r.status};
}

}  // namespace mercato::payment
