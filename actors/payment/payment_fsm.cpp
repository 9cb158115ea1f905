// Payment FSM (see payment_fsm.hpp).
#include "payment/payment_fsm.hpp"

#include <fmt/format.h>

namespace mercato::payment {

bool is_live_status(std::string_view s) {
  return s == "pending" || s == "authorized" || s == "partially_captured" || s == "captured" ||
         s == "partially_refunded";
}

money::cents capturable_remaining(const payment_amounts& p) {
  if (p.capture_final) return 0;
  if (p.status != "authorized" && p.status != "partially_captured") return 0;
  return p.authorized - p.captured;
}

money::cents refundable_amount(const payment_amounts& p) { return p.captured - p.refunded; }

std::optional<refusal> check_capture(const payment_amounts& p, money::cents amount) {
  if (p.status != "authorized" && p.status != "partially_captured")
    return refusal{"not_capturable",
                   fmt::format("Payment is not in a capturable state (status: {})", p.status)};
  if (p.expired) return refusal{"authorization_expired", "Authorization expired"};
  money::cents remaining = capturable_remaining(p);
  if (amount < 0 || amount > remaining || remaining == 0)
    return refusal{"amount_exceeds_remaining",
                   fmt::format("Capture amount exceeds authorized remaining amount ({})",
                               money::format(remaining))};
  return std::nullopt;
}

std::optional<refusal> check_void(const payment_amounts& p) {
  if (p.status == "authorized" || p.status == "partially_captured") return std::nullopt;
  if (p.status == "captured" || p.status == "partially_refunded" || p.status == "refunded")
    return refusal{"not_voidable", "Payment already captured; refund instead"};
  return refusal{"not_voidable",
                 fmt::format("Payment is not in a voidable state (status: {})", p.status)};
}

std::optional<refusal> check_refund(const payment_amounts& p, money::cents amount) {
  if (p.status == "authorized")
    return refusal{"not_captured", "Payment has not been captured; void instead"};
  if (p.status != "captured" && p.status != "partially_captured" &&
      p.status != "partially_refunded" && p.status != "refunded")
    return refusal{"not_refundable",
                   fmt::format("Payment is not in a refundable state (status: {})", p.status)};
  money::cents refundable = refundable_amount(p);
  if (amount <= 0 || amount > refundable)
    return refusal{"amount_exceeds_refundable",
                   fmt::format("Refund amount exceeds refundable amount ({})",
                               money::format(refundable))};
  return std::nullopt;
}

std::string status_after_capture(const payment_amounts& p, money::cents amount, bool final) {
  if (final || p.captured + amount >= p.authorized) return "captured";
  return "partially_captured";
}

std::string status_after_void(const payment_amounts& p) {
  return p.status == "partially_captured" ? "captured" : "voided";
}

std::string status_after_refund(const payment_amounts& p, money::cents amount) {
  bool everything = p.refunded + amount >= p.captured;
  bool final = p.capture_final || p.status == "captured" || p.status == "partially_refunded" ||
               p.status == "refunded";
  return everything && final ? "refunded" : "partially_refunded";
}

money::cents transaction_fee(money::cents amount, int64_t percent_e2, money::cents fixed) {
  // amount × percent_e2 / 10000 rounded half-up, plus the fixed part (already in cents).
  return money::percent_of(amount, percent_e2) + fixed;
}

}  // namespace mercato::payment
