// The built-in test gateway (see test_gateway.hpp).
#include "payment/test_gateway.hpp"

#include <cctype>
#include <optional>

#include <fmt/format.h>

#include "runtime/uuid.hpp"

namespace mercato::payment {
namespace {

struct known_card {
  std::string_view number;
  std::string_view token;
  test_behaviour behaviour;
};

constexpr known_card known_cards[] = {
    {"4242424242424242", "tok_visa", test_behaviour::approve},
    {"5555555555554444", "tok_mastercard", test_behaviour::approve},
    {"378282246310005", "tok_amex", test_behaviour::approve},
    {"4000000000000002", "tok_chargeDeclined", test_behaviour::card_declined},
    {"4000000000009995", "tok_chargeDeclinedInsufficientFunds", test_behaviour::insufficient_funds},
    {"4000000000000069", "tok_chargeDeclinedExpiredCard", test_behaviour::expired_card},
    {"4000000000000127", "tok_chargeDeclinedIncorrectCvc", test_behaviour::incorrect_cvc},
    {"4000000000000119", "tok_chargeDeclinedProcessingError", test_behaviour::processing_error},
    {"4100000000000019", "tok_chargeDeclinedFraudulent", test_behaviour::fraudulent},
    {"4000000000000341", "tok_captureDeclined", test_behaviour::capture_declined},
    {"4000000000005126", "tok_refundFail", test_behaviour::refund_fail},
    {"4000000000000408", "tok_timeout", test_behaviour::timeout},
};

// A uuid whose last two hex digits carry `b`.
std::string tagged_id(test_behaviour b) {
  std::string id = uuid_v4();
  auto tag = fmt::format("{:02x}", static_cast<int>(b));
  id.replace(id.size() - 2, 2, tag);
  return id;
}

test_behaviour behaviour_of_tag(std::string_view id) {
  if (id.size() < 2) return test_behaviour::invalid;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  int hi = hex(id[id.size() - 2]), lo = hex(id[id.size() - 1]);
  if (hi < 0 || lo < 0) return test_behaviour::invalid;
  int v = hi * 16 + lo;
  if (v > static_cast<int>(test_behaviour::timeout)) return test_behaviour::invalid;
  return static_cast<test_behaviour>(v);
}

gateway_result declined(std::string code, std::string message) {
  gateway_result r;
  r.result = gateway_result::outcome::declined;
  r.error_code = std::move(code);
  r.message = std::move(message);
  return r;
}

std::optional<gateway_result> decline_for(test_behaviour b) {
  switch (b) {
    case test_behaviour::card_declined: return declined("card_declined", "Your card was declined.");
    case test_behaviour::insufficient_funds:
      return declined("insufficient_funds", "Your card has insufficient funds.");
    case test_behaviour::expired_card: return declined("expired_card", "Your card has expired.");
    case test_behaviour::incorrect_cvc:
      return declined("incorrect_cvc", "Your card's security code is incorrect.");
    case test_behaviour::processing_error:
      return declined("processing_error",
                      "An error occurred while processing your card. Try again in a little bit.");
    case test_behaviour::fraudulent: return declined("fraudulent", "Your card was declined.");
    case test_behaviour::invalid:
      return declined("invalid_payment_method", "No such payment method at the test gateway.");
    default: return std::nullopt;
  }
}

std::string auth_code() {
  std::string id = uuid_v4(), code = "AUTH-";
  for (char c : id) {
    if (c == '-') continue;
    code.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    if (code.size() == 13) break;
  }
  return code;
}

gateway_result approved(std::string reference, std::string code = {}) {
  gateway_result r;
  r.result = gateway_result::outcome::approved;
  r.reference = std::move(reference);
  r.auth_code = std::move(code);
  return r;
}

}  // namespace

test_behaviour behaviour_of_card(std::string_view digits) {
  for (const auto& c : known_cards)
    if (c.number == digits) return c.behaviour;
  return test_behaviour::approve;
}

test_behaviour behaviour_of_token(std::string_view token) {
  if (token == "tok_processingError") return test_behaviour::processing_error;
  for (const auto& c : known_cards)
    if (c.token == token) return c.behaviour;
  if (token.substr(0, 8) == "test_pm_") return behaviour_of_tag(token.substr(8));
  return test_behaviour::invalid;
}

std::string make_test_token(test_behaviour b) { return "test_pm_" + tagged_id(b); }

template <class Fresh>
gateway_result test_gateway::once(std::string_view key, test_behaviour b, Fresh fresh) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (auto it = by_key_.find(key); it != by_key_.end()) return it->second;
  gateway_result r = fresh();
  by_key_.emplace(std::string(key), r);
  if (b == test_behaviour::timeout) {  // done at the PSP, but the answer never arrives
    gateway_result lost;
    lost.result = gateway_result::outcome::outcome_unknown;
    lost.error_code = "gateway_timeout";
    lost.message = "The test gateway did not answer in time";
    return lost;
  }
  return r;
}

gateway_result test_gateway::authorize(money::cents amount, std::string_view, std::string_view token,
                                       bool capture, std::string_view key) {
  test_behaviour b = behaviour_of_token(token);
  return once(key, b, [&] {
    if (auto d = decline_for(b)) return *d;
    if (capture && b == test_behaviour::capture_declined)
      return declined("card_declined", "Your card was declined.");
    std::string reference = "test_ch_" + tagged_id(b);
    charge& c = charges_[reference];
    c.authorized = amount;
    if (capture) {
      c.captured = amount;
      c.final = true;
      c.capture_calls = 1;
    }
    gateway_result r = approved(reference, auth_code());
    r.multicapture = true;  // its charges take several partial captures
    return r;
  });
}

gateway_result test_gateway::capture(std::string_view reference, money::cents amount, bool final,
                                     std::string_view key) {
  test_behaviour b = behaviour_of_tag(reference);
  return once(key, b, [&] {
    if (b == test_behaviour::capture_declined)
      return declined("card_declined", "The capture was declined.");
    auto it = charges_.find(reference);
    if (it == charges_.end())  // charge from before a restart: the ledger starts from this capture
      it = charges_.emplace(std::string(reference), charge{amount, 0, 0, false, false, 0}).first;
    charge& c = it->second;
    if (c.voided || c.final) return declined("charge_not_capturable", "The charge cannot be captured.");
    if (amount > c.authorized - c.captured)
      return declined("amount_too_large", "The capture amount exceeds the authorized amount.");
    c.captured += amount;
    c.final = final || c.captured == c.authorized;
    ++c.capture_calls;
    gateway_result r = approved(std::string(reference));
    r.closed = c.final;
    return r;
  });
}

gateway_result test_gateway::cancel(std::string_view reference, std::string_view key) {
  test_behaviour b = behaviour_of_tag(reference);
  return once(key, b, [&] {
    auto it = charges_.find(reference);
    if (it != charges_.end()) {
      if (it->second.final) return declined("charge_already_captured", "The charge is captured.");
      it->second.voided = true;
    }
    return approved(std::string(reference));
  });
}

gateway_result test_gateway::refund(std::string_view reference, money::cents amount,
                                    std::string_view key) {
  test_behaviour b = behaviour_of_tag(reference);
  return once(key, b, [&] {
    if (b == test_behaviour::refund_fail) return declined("refund_failed", "The refund failed.");
    auto it = charges_.find(reference);
    if (it != charges_.end()) {
      if (amount > it->second.captured - it->second.refunded)
        return declined("amount_too_large", "The refund exceeds the captured amount.");
      it->second.refunded += amount;
    }
    return approved("test_re_" + uuid_v4());
  });
}

gateway_result test_gateway::lookup(const pending_operation& op) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (auto it = by_key_.find(op.idempotency_key); it != by_key_.end()) return it->second;
  gateway_result unknown;  // never received: the caller re-sends it
  unknown.result = gateway_result::outcome::outcome_unknown;
  unknown.message = "The test gateway has no record of this key";
  return unknown;
}

money::cents test_gateway::captured_total(const std::string& reference) const {
  std::lock_guard<std::mutex> guard{mutex_};
  auto it = charges_.find(reference);
  return it == charges_.end() ? 0 : it->second.captured;
}

int test_gateway::capture_calls(const std::string& reference) const {
  std::lock_guard<std::mutex> guard{mutex_};
  auto it = charges_.find(reference);
  return it == charges_.end() ? 0 : it->second.capture_calls;
}

test_gateway& shared_test_gateway() {
  static test_gateway instance;
  return instance;
}

}  // namespace mercato::payment
