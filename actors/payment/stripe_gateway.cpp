// Stripe adapter (see stripe_gateway.hpp).
#include "payment/stripe_gateway.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "domain/sha256.hpp"
#include "payment/psp_http.hpp"

namespace mercato::payment {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

const char* process_env(const char* name) { return std::getenv(name); }

}  // namespace

std::string stripe_settings::url_problem() const {
  const std::string url = lower(base_url);
  if (url.rfind("https://", 0) == 0) return url.size() > 8 ? "" : "stripe_base_url has no host";
  if (url.rfind("http://", 0) != 0) return "stripe_base_url must start with https://";
  const std::string authority = url.substr(7, url.find('/', 7) - 7);  // npos: up to the end
  const std::string host = !authority.empty() && authority[0] == '['
                               ? authority.substr(0, authority.find(']') + 1)
                               : authority.substr(0, authority.find(':'));
  if (host == "127.0.0.1" || host == "localhost" || host == "[::1]") return {};
  return "stripe_base_url is plain http:// to a non-loopback host; the API key is only sent over https://";
}

stripe_settings resolve_stripe_settings(const payment_config& cfg, const char* (*getenv_fn)(const char*)) {
  if (!getenv_fn) getenv_fn = &process_env;
  auto env = [&](const char* name) -> std::string {
    const char* v = getenv_fn(name);
    return v ? std::string(v) : std::string();
  };
  const payment_config defaults;
  stripe_settings s;
  // A secret: the config's value, else the contract's environment variable.
  auto secret = [&](const std::string& configured, const char* env_name, std::string& value, std::string& origin) {
    value = configured;
    origin = configured.empty() ? "" : "config";
    if (value.empty() && !(value = env(env_name)).empty()) origin = env_name;
  };
  secret(cfg.stripe_secret_key, "STRIPE_API_KEY", s.api_key, s.api_key_origin);
  secret(cfg.stripe_webhook_secret, "STRIPE_WEBHOOK_SECRET", s.webhook_secret, s.webhook_secret_origin);

  s.base_url = cfg.stripe_base_url.empty() ? defaults.stripe_base_url : cfg.stripe_base_url;
  if (s.base_url == defaults.stripe_base_url)
    if (auto v = env("STRIPE_BASE_URL"); !v.empty()) s.base_url = v;
  while (s.base_url.size() > 1 && s.base_url.back() == '/') s.base_url.pop_back();

  s.timeout_ms = cfg.stripe_timeout.count() > 0 ? cfg.stripe_timeout.count() : defaults.stripe_timeout.count();
  if (cfg.stripe_timeout == defaults.stripe_timeout) {
    if (auto v = env("STRIPE_TIMEOUT_MS"); !v.empty()) {
      bool digits = v.size() <= 7 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
      int64_t ms = digits ? std::stoll(v) : 0;
      if (ms > 0) s.timeout_ms = ms;
      else s.warnings.push_back("STRIPE_TIMEOUT_MS ignored: not a positive number of milliseconds");
    }
  }

  s.ca_file = cfg.stripe_ca_file.empty() ? env("STRIPE_CA_FILE") : cfg.stripe_ca_file;
  if (!s.api_key.empty())
    if (auto problem = s.url_problem(); !problem.empty()) s.warnings.push_back(problem + ": Stripe stays not configured");
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

gateway_result undecided(std::string why) {
  return result_of(gateway_result::outcome::outcome_unknown, "GATEWAY_PENDING", std::move(why));
}

// An amount in minor units (0 when absent).
money::cents minor(const json& o, const char* key) {
  if (o.is_object() && o.contains(key) && o[key].is_number_integer()) return o[key].get<int64_t>();
  return 0;
}

// The intent's latest charge: its id (the field is an id, or the object when expanded).
std::string charge_id(const json& pi) {
  if (!pi.is_object() || !pi.contains("latest_charge")) return {};
  const json& c = pi["latest_charge"];
  return c.is_string() ? c.get<std::string>() : text(c, "id");
}

// Whether the expanded latest charge says multicapture is available; nullopt when not expanded.
std::optional<bool> multicapture_of(const json& pi) {
  if (!pi.is_object() || !pi.contains("latest_charge") || !pi["latest_charge"].is_object()) return std::nullopt;
  const json& c = pi["latest_charge"];
  const json* node = &c;
  for (const char* key : {"payment_method_details", "card", "multicapture"}) {
    if (!node->is_object() || !node->contains(key)) return false;  // not said: not available
    node = &(*node)[key];
  }
  return text(*node, "status") == "available";
}

// Nothing left to capture on the intent: canceled, or (after partial captures) succeeded with
// the remainder released.
bool remainder_released(const json& pi) {
  const std::string status = text(pi, "status");
  return status == "canceled" || (status == "succeeded" && minor(pi, "amount_capturable") == 0);
}

// What a created (or looked-up) intent means for an authorize (`sale` false) or a sale.
gateway_result authorization_verdict(const json& pi, bool sale) {
  const std::string status = text(pi, "status");
  if (status == "succeeded" || (!sale && status == "requires_capture")) {
    gateway_result r = approved(text(pi, "id"));
    if (!sale) r.multicapture = multicapture_of(pi).value_or(false);
    return r;
  }
  if (status == "processing")
    return result_of(gateway_result::outcome::outcome_unknown, "GATEWAY_PENDING", "Stripe is still processing",
                     text(pi, "id"));
  return intent_declined(pi);
}

// The refund's metadata key naming our transaction: reconciliation finds a refund whose answer
// was lost by it, after Stripe has forgotten the Idempotency-Key (24 h).
constexpr const char* refund_tag = "mercato_transaction_id";

// What a refund object (created, or found by a lookup) means.
gateway_result refund_verdict(const json& re) {
  const std::string status = text(re, "status");
  if (status == "succeeded" || status == "pending") return approved(text(re, "id"));
  std::string reason = text(re, "failure_reason");
  return result_of(gateway_result::outcome::declined, "refund_failed",
                   reason.empty() ? "Stripe refund " + status : "Stripe refund failed: " + reason, text(re, "id"));
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
  // Key in use (409), Stripe's own error (5xx), or the key already used with other parameters (a
  // call staged before an upgrade changed its form): Stripe may have acted on the key.
  if (res.status == 409 || res.status >= 500 || text(error, "type") == "idempotency_error")
    a.failure = result_of(gateway_result::outcome::outcome_unknown, code.empty() ? "GATEWAY_ERROR" : code, message);
  else if (res.status == 429)
    a.failure = result_of(gateway_result::outcome::unavailable, "GATEWAY_UNAVAILABLE", message);
  else
    a.failure = result_of(gateway_result::outcome::declined, code.empty() ? "gateway_error" : code, message, reference);
  return a;
}

gateway_result stripe_gateway::authorize(money::cents amount, std::string_view currency, std::string_view token,
                                         bool capture, std::string_view idempotency_key) {
  form_fields form{{"amount", std::to_string(amount)},
                   {"currency", lower(currency)},
                   {"payment_method", std::string(token)},
                   {"payment_method_types[]", "card"},
                   {"confirm", "true"},
                   {"capture_method", capture ? "automatic" : "manual"},
                   {"metadata[transaction_id]", std::string(idempotency_key)}};
  // An authorization may be captured in parts (one capture per shipment): ask for multicapture;
  // the charge in the answer says whether the card and account have it.
  if (!capture) form.emplace_back("payment_method_options[card][request_multicapture]", "if_available");
  form.emplace_back("expand[]", "latest_charge");
  auto a = call("POST", "/v1/payment_intents", std::move(form), idempotency_key);
  if (!a.ok) return a.failure;
  return authorization_verdict(a.object, capture);
}

gateway_result stripe_gateway::capture(std::string_view reference, money::cents amount, bool final,
                                       std::string_view idempotency_key) {
  form_fields form{{"amount_to_capture", std::to_string(amount)}};
  // final_capture defaults to true (the remainder is released); false keeps the authorization
  // open for the next capture, which the caller asks only where multicapture is available.
  if (!final) form.emplace_back("final_capture", "false");
  auto a = call("POST", "/v1/payment_intents/" + std::string(reference) + "/capture", std::move(form),
                idempotency_key);
  if (!a.ok) return a.failure;
  std::string status = text(a.object, "status");
  if (status == "succeeded" || status == "requires_capture") {
    std::string charge = charge_id(a.object);
    gateway_result r = approved(charge.empty() ? text(a.object, "id") : charge);
    r.closed = status == "succeeded";  // nothing capturable is left: Stripe released the rest
    return r;
  }
  return intent_declined(a.object);
}

gateway_result stripe_gateway::cancel(std::string_view reference, std::string_view idempotency_key) {
  auto a = call("POST", "/v1/payment_intents/" + std::string(reference) + "/cancel", {}, idempotency_key);
  if (!a.ok) return a.failure;
  if (remainder_released(a.object)) return approved(text(a.object, "id"));
  return intent_declined(a.object);
}

gateway_result stripe_gateway::refund(std::string_view reference, money::cents amount,
                                      std::string_view idempotency_key) {
  auto a = call("POST", "/v1/refunds",
                {{"payment_intent", std::string(reference)},
                 {"amount", std::to_string(amount)},
                 {std::string("metadata[") + refund_tag + "]", std::string(idempotency_key)}},
                idempotency_key);
  if (!a.ok) return a.failure;
  return refund_verdict(a.object);
}

gateway_result stripe_gateway::lookup_refund(const pending_operation& op) const {
  // Stripe lists an intent's refunds newest first: a recent refund is on the first page; the
  // bound keeps a pathological intent from holding a pool thread.
  constexpr int max_pages = 10, page_size = 100;
  // An empty key would match every refund made without our metadata (Dashboard refunds).
  if (op.idempotency_key.empty()) return undecided("No transaction id to recognise the refund by");
  std::string after;
  for (int page = 0; page < max_pages; ++page) {
    form_fields query{{"payment_intent", op.reference}, {"limit", std::to_string(page_size)}};
    if (!after.empty()) query.emplace_back("starting_after", after);
    auto a = call("GET", "/v1/refunds", std::move(query), {});
    if (!a.ok) {
      if (a.failure.result == gateway_result::outcome::unavailable) return a.failure;
      return undecided("Stripe refund lookup failed: " + a.failure.message);
    }
    const json& list = a.object;
    if (!list.contains("data") || !list["data"].is_array())
      return undecided("Stripe answered an unreadable refund list");
    for (const json& re : list["data"])
      if (re.is_object() && re.contains("metadata") && text(re["metadata"], refund_tag) == op.idempotency_key)
        return refund_verdict(re);
    const bool more = list.contains("has_more") && list["has_more"].is_boolean() && list["has_more"].get<bool>();
    // The whole list without it: Stripe never received the refund, so the re-send makes it, once.
    if (!more) return undecided("The refund is not at Stripe: re-sent with its key");
    after = list["data"].empty() ? std::string() : text(list["data"].back(), "id");
    if (after.empty()) return undecided("Stripe's refund list has no cursor to go on from");
  }
  return undecided("The refund is not among Stripe's " + std::to_string(max_pages * page_size) +
                   " latest refunds of the payment: re-sent with its key");
}

gateway_result stripe_gateway::lookup(const pending_operation& op) {
  const bool authorization = op.type == "authorize" || op.type == "sale";
  if (op.reference.empty() || (!authorization && op.type != "capture" && op.type != "void" && op.type != "refund"))
    return undecided("No Stripe object to look up: the call is re-sent with its key");
  if (op.type == "refund") return lookup_refund(op);
  auto a = call("GET", "/v1/payment_intents/" + op.reference, {{"expand[]", "latest_charge"}}, {});
  if (!a.ok) {
    if (a.failure.result == gateway_result::outcome::unavailable) return a.failure;
    return undecided("Stripe lookup failed: " + a.failure.message);
  }
  const json& pi = a.object;
  const std::string status = text(pi, "status");
  if (authorization) {
    if (status == "processing" || status == "requires_confirmation")
      return undecided("Stripe payment intent is " + status);
    return authorization_verdict(pi, op.type == "sale");
  }
  const money::cents received = minor(pi, "amount_received");
  if (op.type == "capture") {
    if (received >= op.captured_before + op.amount) {
      std::string charge = charge_id(pi);
      gateway_result r = approved(charge.empty() ? text(pi, "id") : charge);
      r.closed = status != "requires_capture";
      return r;
    }
    if (status == "requires_capture") return undecided("The capture is not at Stripe yet: re-sent with its key");
    return result_of(gateway_result::outcome::declined, "payment_intent_unexpected_state",
                     "The Stripe payment intent is " + status + " without this capture", text(pi, "id"));
  }
  // void
  if (remainder_released(pi) && (status == "canceled" || (op.captured_before > 0 && received == op.captured_before)))
    return approved(text(pi, "id"));
  if (status == "requires_capture") return undecided("The cancel is not at Stripe yet: re-sent with its key");
  return result_of(gateway_result::outcome::declined, "payment_intent_unexpected_state",
                   "The Stripe payment intent is " + status + "; the authorization was not released",
                   text(pi, "id"));
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
