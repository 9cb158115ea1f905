// Unit tests of the customer agent's plain rules: e-mail / phone normalisation, status machines,
// referral codes and the loyalty arithmetic (redemption quote, earning, reversal, tier review).
#include <catch2/catch.hpp>

#include "customer/loyalty_rules.hpp"
#include "customer/profile_rules.hpp"

using namespace mercato::customer;
namespace ly = mercato::customer::loyalty;

TEST_CASE("emails are trimmed, lower-cased and checked", "[customer][rules]") {
  CHECK(normalize_email("  Alice.Martin@Example.COM ") == std::optional<std::string>{"alice.martin@example.com"});
  CHECK(normalize_email("a+tag@sub.example.org").has_value());
  CHECK_FALSE(normalize_email("not-an-email").has_value());
  CHECK_FALSE(normalize_email("a@b").has_value());
  CHECK_FALSE(normalize_email("a@@example.com").has_value());
  CHECK_FALSE(normalize_email("@example.com").has_value());
  CHECK_FALSE(normalize_email("a b@example.com").has_value());
  CHECK_FALSE(normalize_email("a@example.c0m").has_value());
  CHECK_FALSE(normalize_email(std::string(250, 'a') + "@example.com").has_value());
}

TEST_CASE("phones keep digits and a leading plus", "[customer][rules]") {
  CHECK(normalize_phone("+1 (512) 555-0101") == std::optional<std::string>{"+15125550101"});
  CHECK(normalize_phone("555.0101.22") == std::optional<std::string>{"555010122"});
  CHECK_FALSE(normalize_phone("12345").has_value());
  CHECK_FALSE(normalize_phone("1234567890123456").has_value());
  CHECK_FALSE(normalize_phone("555-CALL-NOW").has_value());
  CHECK_FALSE(normalize_phone("1+5125550101").has_value());
}

TEST_CASE("customer ids and dates", "[customer][rules]") {
  CHECK(valid_customer_id("CUST-001"));
  CHECK(valid_customer_id("user@shop:42_x.y"));
  CHECK_FALSE(valid_customer_id(""));
  CHECK_FALSE(valid_customer_id("has space"));
  CHECK_FALSE(valid_customer_id(std::string(101, 'a')));
  CHECK(valid_iso_date("2000-02-29"));
  CHECK_FALSE(valid_iso_date("1900-02-29"));
  CHECK_FALSE(valid_iso_date("2001-13-01"));
  CHECK_FALSE(valid_iso_date("01/02/2001"));
}

TEST_CASE("account status transitions", "[customer][rules]") {
  CHECK(account_transition_allowed("active", "suspended"));
  CHECK(account_transition_allowed("suspended", "active"));
  CHECK(account_transition_allowed("inactive", "blocked"));
  CHECK(account_transition_allowed("blocked", "active"));
  CHECK_FALSE(account_transition_allowed("blocked", "suspended"));
  CHECK_FALSE(account_transition_allowed("suspended", "inactive"));
}

TEST_CASE("interaction status transitions", "[customer][rules]") {
  CHECK(interaction_transition_allowed("open", "in_progress"));
  CHECK(interaction_transition_allowed("in_progress", "resolved"));
  CHECK(interaction_transition_allowed("resolved", "in_progress"));
  CHECK(interaction_transition_allowed("open", "closed"));
  CHECK_FALSE(interaction_transition_allowed("closed", "in_progress"));
  CHECK_FALSE(interaction_transition_allowed("closed", "closed"));
  CHECK_FALSE(interaction_transition_allowed("open", "resolved"));
}

TEST_CASE("referral codes use the contract alphabet", "[customer][rules]") {
  for (int i = 0; i < 200; ++i) {
    auto code = make_referral_code();
    INFO(code);
    REQUIRE(valid_referral_code(code));
    REQUIRE(code.find_first_of("01") == std::string::npos);
  }
  CHECK_FALSE(valid_referral_code("ABCDEFG1"));
  CHECK_FALSE(valid_referral_code("abcdefgh"));
}

TEST_CASE("redemption quote applies minimum, cap and balance", "[customer][rules][loyalty]") {
  auto q = ly::quote_redemption(1000, 5000, 2000);  // 10.00 against 50.00
  CHECK(q.error == ly::quote_error::none);
  CHECK(q.discount == 1000);
  CHECK(ly::quote_redemption(400, 100000, 2000).error == ly::quote_error::below_minimum);
  CHECK(ly::quote_redemption(1000, 1999, 2000).error == ly::quote_error::exceeds_cap);
  CHECK(ly::quote_redemption(1000, 2000, 2000).error == ly::quote_error::none);  // exactly 50 %
  CHECK(ly::quote_redemption(2500, 100000, 2000).error == ly::quote_error::insufficient_points);
  CHECK(ly::quote_redemption(0, 100000, 2000).error == ly::quote_error::not_positive);
  CHECK(ly::error_code(ly::quote_error::exceeds_cap) == "exceeds_cap");
}

TEST_CASE("earning follows the tier multiplier", "[customer][rules][loyalty]") {
  CHECK(ly::points_for(20000, ly::tier::silver) == 220);
  CHECK(ly::points_for(20000, ly::tier::bronze) == 200);
  CHECK(ly::points_for(1999, ly::tier::gold) == 24);  // 19.99 × 1.25 = 24.98 → 24
  CHECK(ly::points_for(10000, ly::tier::diamond) == 200);
  CHECK(ly::points_for(-5, ly::tier::diamond) == 0);
}

TEST_CASE("refund reversal is pro rata and cumulative", "[customer][rules][loyalty]") {
  CHECK(ly::points_to_reverse(220, 20000, 5000, 0) == 55);
  CHECK(ly::points_to_reverse(220, 20000, 10000, 55) == 55);    // second refund of 50.00
  CHECK(ly::points_to_reverse(220, 20000, 25000, 110) == 110);  // never more than earned
  CHECK(ly::points_to_reverse(220, 20000, 20000, 220) == 0);
  CHECK(ly::points_to_reverse(0, 20000, 5000, 0) == 0);
}

TEST_CASE("tiers by qualifying points and the yearly review", "[customer][rules][loyalty]") {
  CHECK(ly::tier_for(999) == ly::tier::bronze);
  CHECK(ly::tier_for(1000) == ly::tier::silver);
  CHECK(ly::tier_for(50000) == ly::tier::diamond);
  CHECK(ly::points_to_next_tier(ly::tier::silver, 1200) == 3800);
  CHECK_FALSE(ly::next_tier(ly::tier::diamond).has_value());
  CHECK(ly::reviewed_tier(ly::tier::platinum, 0) == ly::tier::gold);       // one level per year
  CHECK(ly::reviewed_tier(ly::tier::gold, 6000) == ly::tier::gold);
  CHECK(ly::reviewed_tier(ly::tier::silver, 16000) == ly::tier::platinum);
}

TEST_CASE("which order events can change the customer's projections", "[customer][rules]") {
  using mercato::customer::loyalty::order_event_matters;
  for (const char* name : {"order_created", "order_confirmed", "order_cancelled", "order_delivered",
                           "order_refunded", "order_failed"})
    CHECK(order_event_matters(name, ""));
  CHECK(order_event_matters("order_status_updated", "delivered"));
  CHECK(order_event_matters("order_status_updated", "cancelled"));
  CHECK_FALSE(order_event_matters("order_status_updated", "confirmed"));  // order_confirmed does it
  CHECK_FALSE(order_event_matters("order_status_updated", "shipped"));
  CHECK_FALSE(order_event_matters("order_note_added", ""));
  CHECK_FALSE(order_event_matters("order_shipped", ""));
}
