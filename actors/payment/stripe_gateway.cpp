// Stripe adapter (see stripe_gateway.hpp).
#include "payment/stripe_gateway.hpp"

#include <cstdlib>
#include <vector>

#include "domain/sha256.hpp"

namespace mercato::payment {

stripe_settings stripe_settings::from_environment() {
  stripe_settings s;
  if (const char* v = std::getenv("STRIPE_API_KEY")) s.api_key = v;
  if (const char* v = std::getenv("STRIPE_WEBHOOK_SECRET")) s.webhook_secret = v;
  if (const char* v = std::getenv("STRIPE_BASE_URL"); v && *v) s.base_url = v;
  return s;
}

gateway_result stripe_gateway::not_sent() const {
  gateway_result r;
  r.result = gateway_result::outcome::unavailable;
  r.error_code = "GATEWAY_UNAVAILABLE";
  r.message = configured() ? "Stripe could not be reached: this build has no outbound HTTP client"
                           : "Payment gateway 'Stripe' is not configured";
  return r;
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
