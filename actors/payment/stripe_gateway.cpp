// Stripe adapter (see stripe_gateway.hpp).
#include "payment/stripe_gateway.hpp"

#include <cctype>
#include <cstdlib>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/sha256.hpp"
#include "payment/psp_http.hpp"

namespace mercato::payment {

stripe_settings stripe_settings::from_environment() {
  stripe_settings s;
  if (const char* v = std::getenv("STRIPE_API_KEY")) s.api_key = v;
  if (const char* v = std::getenv("STRIPE_WEBHOOK_SECRET")) s.webhook_secret = v;
  if (const char* v = std::getenv("STRIPE_BASE_URL"); v && *v) s.base_url = v;
  if (const char* v = std::getenv("STRIPE_CA_FILE"); v && *v) s.ca_file = v;
  if (const char* v = std::getenv("STRIPE_TIMEOUT_MS"); v && *v) {
    long long ms = std::atoll(v);
    if (ms > 0) s.timeout_ms = ms;
  }
  return s;
}

namespace {

using json = nlohmann::json;

gateway_result result_of(gateway_result::outcome o, std::string code, std::string message,
                         std::string reference = {}) {
  gateway_result r;
  r.result = o;
  r.error_code = std::move(code);
  r.message = std::move(message);
  r.reference = std::move(reference);
  return r;
}

std::string text(const json& o, const char* key) {
  if (o.is_object() && o.contains(key) && o[key].is_string()) return o[key].get<std::string>();
  return {};
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// A PaymentIntent's own failure (status requires_payment_method / canceled / requires_action).
gateway_result intent_declined(const json& pi) {
  const json error = pi.contains("last_payment_error") && pi["last_payment_error"].is_object()
                         ? pi["last_payment_error"] : json::object();
  std::string code = text(error, "decline_code");
  if (code.empty()) code = text(error, "code");
  std::string status = text(pi, "status");
  if (code.empty()) code = status == "requires_action" ? "authentication_required" : "card_declined";
  std::string message = text(error, "message");
  if (message.empty()) message = "Stripe payment intent is " + status;
  return result_of(gateway_result::outcome::declined, code, message, text(pi, "id"));
}

gateway_result approved(std::string reference) {
  gateway_result r;
  r.result = gateway_result::outcome::approved;
  r.reference = std::move(reference);
  return r;
}

}  // namespace

// A 2xx object, or the gateway_result every other outcome maps to.
struct stripe_gateway::answer {
  bool ok = false;
  json object;
  gateway_result failure;
};

stripe_gateway::answer stripe_gateway::call(const char* method, std::string target, form_fields form,
                                            std::string_view idempotency_key) const {
  answer a;
  if (!configured()) {
    a.failure = result_of(gateway_result::outcome::unavailable, "GATEWAY_UNAVAILABLE",
                          "Payment gateway 'Stripe' is not configured");
    return a;
  }
  psp_request req;
  req.method = method;
  req.base_url = settings_.base_url;
  req.target = std::move(target);
  req.form = std::move(form);
  req.headers.emplace_back("Authorization", "Bearer " + settings_.api_key);
  if (!idempotency_key.empty()) req.headers.emplace_back("Idempotency-Key", std::string(idempotency_key));
  req.timeout = std::chrono::milliseconds(settings_.timeout_ms > 0 ? settings_.timeout_ms : 10000);
  req.ca_file = settings_.ca_file;
  auto res = psp_call(req);
  if (res.result == psp_response::stage::not_sent) {
    a.failure = result_of(gateway_result::outcome::unavailable, "GATEWAY_UNAVAILABLE",
                          "Stripe could not be reached: " + res.error);
    return a;
  }
  if (res.result == psp_response::stage::no_answer) {
    a.failure = result_of(gateway_result::outcome::outcome_unknown, "GATEWAY_TIMEOUT",
                          "No answer from Stripe: " + res.error);
    return a;
  }
  auto body = json::parse(res.body, nullptr, false);
  if (res.status >= 200 && res.status < 300) {
    if (body.is_discarded() || !body.is_object()) {
      a.failure = result_of(gateway_result::outcome::outcome_unknown, "GATEWAY_ERROR",
                            "Stripe answered an unreadable body; outcome unknown");
      return a;
    }
    a.ok = true;
    a.object = std::move(body);
    return a;
  }
  const json error = body.is_object() && body.contains("error") && body["error"].is_object() ? body["error"]
                                                                                             : json::object();
  std::string code = text(error, "decline_code");
  if (code.empty()) code = text(error, "code");
  if (code.empty()) code = text(error, "type");
  std::string message = text(error, "message");
  if (message.empty()) message = "Stripe answered HTTP " + std::to_string(res.status);
  std::string reference;
  if (error.contains("payment_intent") && error["payment_intent"].is_object())
    reference = text(error["payment_intent"], "id");
  if (res.status == 409 || res.status >= 500)  // key in use / Stripe error: it may have acted
    a.failure = result_of(gateway_result::outcome::outcome_unknown, code.empty() ? "GATEWAY_ERROR" : code, message);
  else if (res.status == 429)
    a.failure = result_of(gateway_result::outcome::unavailable, "GATEWAY_UNAVAILABLE", message);
  else
    a.failure = result_of(gateway_result::outcome::declined, code.empty() ? "gateway_error" : code, message, reference);
  return a;
}

gateway_result stripe_gateway::authorize(money::cents amount, std::string_view currency, std::string_view token,
                                         bool capture, std::string_view idempotency_key) {
  auto a = call("POST", "/v1/payment_intents",
                {{"amount", std::to_string(amount)},
                 {"currency", lower(currency)},
                 {"payment_method", std::string(token)},
                 {"payment_method_types[]", "card"},
                 {"confirm", "true"},
                 {"capture_method", capture ? "automatic" : "manual"},
                 {"metadata[transaction_id]", std::string(idempotency_key)}},
                idempotency_key);
  if (!a.ok) return a.failure;
  std::string status = text(a.object, "status");
  if (status == "succeeded" || (!capture && status == "requires_capture")) return approved(text(a.object, "id"));
  if (status == "processing")
    return result_of(gateway_result::outcome::outcome_unknown, "GATEWAY_PENDING", "Stripe is still processing",
                     text(a.object, "id"));
  return intent_declined(a.object);
}

gateway_result stripe_gateway::capture(std::string_view reference, money::cents amount, bool,
                                       std::string_view idempotency_key) {
  auto a = call("POST", "/v1/payment_intents/" + std::string(reference) + "/capture",
                {{"amount_to_capture", std::to_string(amount)}}, idempotency_key);
  if (!a.ok) return a.failure;
  std::string status = text(a.object, "status");
  if (status == "succeeded" || status == "requires_capture") {
    std::string charge = text(a.object, "latest_charge");
    return approved(charge.empty() ? text(a.object, "id") : charge);
  }
  return intent_declined(a.object);
}

gateway_result stripe_gateway::cancel(std::string_view reference, std::string_view idempotency_key) {
  auto a = call("POST", "/v1/payment_intents/" + std::string(reference) + "/cancel", {}, idempotency_key);
  if (!a.ok) return a.failure;
  if (text(a.object, "status") == "canceled") return approved(text(a.object, "id"));
  return intent_declined(a.object);
}

gateway_result stripe_gateway::refund(std::string_view reference, money::cents amount,
                                      std::string_view idempotency_key) {
  auto a = call("POST", "/v1/refunds", {{"payment_intent", std::string(reference)}, {"amount", std::to_string(amount)}},
                idempotency_key);
  if (!a.ok) return a.failure;
  std::string status = text(a.object, "status");
  if (status == "succeeded" || status == "pending") return approved(text(a.object, "id"));
  std::string reason = text(a.object, "failure_reason");
  return result_of(gateway_result::outcome::declined, "refund_failed",
                   reason.empty() ? "Stripe refund " + status : "Stripe refund failed: " + reason,
                   text(a.object, "id"));
}

gateway_result stripe_gateway::lookup(std::string_view reference) {
  auto a = call("GET", "/v1/payment_intents/" + std::string(reference), {}, {});
  if (!a.ok) return a.failure;
  std::string status = text(a.object, "status");
  if (status == "succeeded" || status == "requires_capture") return approved(text(a.object, "id"));
  if (status == "processing")
    return result_of(gateway_result::outcome::outcome_unknown, "GATEWAY_PENDING", "Stripe is still processing",
                     text(a.object, "id"));
  return intent_declined(a.object);
}

bool stripe_gateway::verify_signature(std::string_view header, std::string_view body,
                                      int64_t now) const {
  if (settings_.webhook_secret.empty()) return false;
  return verify_stripe_signature(header, body, settings_.webhook_secret, now);
}

bool verify_stripe_signature(std::string_view header, std::string_view body,
                             std::string_view secret, int64_t now, int64_t tolerance_seconds) {
  std::string timestamp;
  std::vector<std::string> signatures;
  size_t pos = 0;
  while (pos <= header.size()) {
    size_t comma = header.find(',', pos);
    if (comma == std::string_view::npos) comma = header.size();
    auto part = header.substr(pos, comma - pos);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.substr(0, 2) == "t=") timestamp = std::string(part.substr(2));
    if (part.substr(0, 3) == "v1=") signatures.emplace_back(part.substr(3));
    pos = comma + 1;
  }
  if (timestamp.empty() || signatures.empty()) return false;
  int64_t t = 0;
  for (char c : timestamp) {
    if (c < '0' || c > '9') return false;
    t = t * 10 + (c - '0');
    if (t > 100'000'000'000) return false;
  }
  if (now - t > tolerance_seconds || t - now > tolerance_seconds) return false;
  std::string signed_payload = timestamp + "." + std::string(body);
  std::string expected = crypto::to_hex(crypto::hmac_sha256(secret, signed_payload));
  for (const auto& s : signatures)
    if (crypto::constant_time_equal(s, expected)) return true;
  return false;
}

}  // namespace mercato::payment
