// Which requests the gateway sends again to an agent's next incarnation (gateway/resend_policy.hpp).
#include <catch2/catch.hpp>

#include "gateway/resend_policy.hpp"

using mercato::resend_policy::classify;
using mercato::resend_policy::resend;

TEST_CASE("resend_policy: GET and HEAD to any agent go again as sent") {
  CHECK(classify("product", "GET", "/products/PROD-001") == resend::as_sent);
  CHECK(classify("order", "GET", "/orders") == resend::as_sent);
  CHECK(classify("monitoring", "HEAD", "/health") == resend::as_sent);
}

TEST_CASE("resend_policy: POST /orders goes again under its Idempotency-Key, with or without a trailing slash") {
  CHECK(classify("order", "POST", "/orders") == resend::with_key);
  CHECK(classify("order", "POST", "/orders/") == resend::with_key);
}

TEST_CASE("resend_policy: other writes are never sent twice") {
  CHECK(classify("order", "POST", "/orders/ORD-1/cancel") == resend::never);
  CHECK(classify("order", "PUT", "/orders") == resend::never);
  CHECK(classify("payment", "POST", "/orders") == resend::never);  // the route is the order agent's
  CHECK(classify("inventory", "POST", "/inventory/reserve") == resend::never);
  CHECK(classify("product", "DELETE", "/products/PROD-001") == resend::never);
  CHECK(classify("product", "get", "/products") == resend::never);  // methods are case-sensitive
}
