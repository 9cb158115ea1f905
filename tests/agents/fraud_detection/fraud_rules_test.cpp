// fraud_detection's pure logic: every signal at its boundary, levels and decisions, recommendations,
// the blocked short-circuit, identifier normalisation, request parsing and the input hash.
#include <catch2/catch.hpp>

#include "fraud_detection/fraud_input.hpp"
#include "fraud_detection/fraud_rules.hpp"
#include "fraud_detection/input_hash.hpp"

using namespace mercato;
using namespace mercato::fraud;
using nlohmann::json;

namespace {

const signal* find_signal(const assessment& a, std::string_view type) {
  for (const auto& s : a.signals)
    if (s.signal_type == type) return &s;
  return nullptr;
}

score_input with_amount(money::cents c) {
  score_input in;
  in.amount = c;
  return in;
}

// Parses `data` through the typed door (so the tests exercise the real reader).
std::optional<score_request> parse(const json& data, input::issue_list& issues, bool amount_required = false) {
  return read_score_message("order", "o-1", "CUST-001", data, amount_required, rule_settings{}, issues);
}

}  // namespace

TEST_CASE("high_amount boundaries: 1000 none, 1050 zero, 1100 one, 4000 and 5000 thirty", "[fraud][rules]") {
  CHECK(find_signal(assess(with_amount(100000)), signal_name::high_amount) == nullptr);
  const auto a1050 = assess(with_amount(105000));
  REQUIRE(find_signal(a1050, signal_name::high_amount) != nullptr);  // listed although it adds 0
  CHECK(find_signal(a1050, signal_name::high_amount)->risk_contribution == 0);
  CHECK(a1050.risk_score == 0);
  const auto a1100 = assess(with_amount(110000));
  CHECK(find_signal(a1100, signal_name::high_amount)->risk_contribution == 1);
  CHECK(find_signal(a1100, signal_name::high_amount)->signal_value == "$1100.00");
  CHECK(find_signal(assess(with_amount(109999)), signal_name::high_amount)->risk_contribution == 0);
  CHECK(find_signal(assess(with_amount(400000)), signal_name::high_amount)->risk_contribution == 30);
  const auto a5000 = assess(with_amount(500000));
  CHECK(find_signal(a5000, signal_name::high_amount)->risk_contribution == 30);
  CHECK(a5000.risk_score == 30);
  CHECK(a5000.risk_level == "medium");
  CHECK(a5000.recommendations == std::vector<std::string>{"Review order with high amount: $5000.00"});
}

TEST_CASE("high_velocity boundaries: 5 none, 6 18, 7 21, 8 24, 9 25 (capped)", "[fraud][rules]") {
  auto velocity = [](int64_t n) {
    score_input in;
    in.order_count_24h = n;
    return assess(in);
  };
  CHECK(velocity(5).signals.empty());
  CHECK(find_signal(velocity(6), signal_name::high_velocity)->risk_contribution == 18);
  CHECK(find_signal(velocity(7), signal_name::high_velocity)->risk_contribution == 21);
  CHECK(find_signal(velocity(7), signal_name::high_velocity)->signal_value == "7 orders in 24h");
  CHECK(find_signal(velocity(8), signal_name::high_velocity)->risk_contribution == 24);
  CHECK(find_signal(velocity(9), signal_name::high_velocity)->risk_contribution == 25);
  CHECK(find_signal(velocity(40), signal_name::high_velocity)->risk_contribution == 25);
  CHECK(velocity(9).risk_level == "medium");  // 25 → medium: no verification lines
  CHECK(velocity(9).recommendations ==
        std::vector<std::string>{"Investigate high order velocity: 9 orders in 24h"});
}

TEST_CASE("bad IP, address mismatch, new account and payment changes at their boundaries", "[fraud][rules]") {
  score_input ip;
  ip.ip_reputation = "bad";
  ip.ip_address = "10.1.2.3";
  auto a = assess(ip);
  REQUIRE(a.signals.size() == 1);
  CHECK(a.signals[0].signal_type == "bad_ip_reputation");
  CHECK(a.signals[0].risk_contribution == 40);
  CHECK(a.signals[0].signal_value == "10.1.2.3");
  CHECK(a.recommendations.back() == "Block IP address: 10.1.2.3");
  ip.ip_address.clear();
  CHECK(assess(ip).signals[0].signal_value == "unknown");
  ip.ip_reputation = "unknown";
  CHECK(assess(ip).signals.empty());

  score_input mismatch;
  mismatch.address_mismatch = true;
  CHECK(assess(mismatch).risk_score == 20);
  CHECK(assess(mismatch).signals[0].signal_value == "Shipping and billing addresses differ significantly");
  mismatch.address_mismatch = false;
  CHECK(assess(mismatch).signals.empty());

  score_input age;
  age.account_age_days = 0.5;
  CHECK(assess(age).risk_score == 15);
  CHECK(assess(age).signals[0].signal_value == "Account created 0.5 days ago");
  CHECK(assess(age).recommendations == std::vector<std::string>{"Monitor new account activity closely"});
  age.account_age_days = 1.0;
  CHECK(assess(age).signals.empty());

  score_input changes;
  changes.payment_method_changes_7d = 2;
  CHECK(assess(changes).signals.empty());
  changes.payment_method_changes_7d = 3;
  CHECK(assess(changes).risk_score == 15);
  CHECK(assess(changes).signals[0].signal_value == "3 changes in 7 days");
  CHECK(assess(changes).recommendations == std::vector<std::string>{"Verify payment method changes"});
}

TEST_CASE("level and decision boundaries 24 25 49 50 74 75", "[fraud][rules]") {
  CHECK(level_for(0) == "low");
  CHECK(level_for(24) == "low");
  CHECK(level_for(25) == "medium");
  CHECK(level_for(49) == "medium");
  CHECK(level_for(50) == "high");
  CHECK(level_for(74) == "high");
  CHECK(level_for(75) == "critical");
  CHECK(level_for(100) == "critical");
  CHECK(decision_for("low") == "approved");
  CHECK(decision_for("medium") == "flagged");
  CHECK(decision_for("high") == "manual_review");
  CHECK(decision_for("critical") == "blocked");

  // Through assess: 24 = amount 3400 (24); 25 = 9 orders; 49 = 34 + 15; 50 = 35 + 15 ...
  CHECK(assess(with_amount(340000)).risk_score == 24);
  CHECK(assess(with_amount(340000)).decision == "approved");
  score_input s49 = with_amount(440000);  // 30
  s49.account_age_days = 0;                // +15 = 45
  s49.payment_method_changes_7d = 1;
  CHECK(assess(s49).risk_score == 45);
  score_input s50;
  s50.address_mismatch = true;  // 20
  s50.amount = 400000;          // 30
  auto a50 = assess(s50);
  CHECK(a50.risk_score == 50);
  CHECK(a50.risk_level == "high");
  CHECK(a50.decision == "manual_review");
  CHECK(a50.recommendations.size() == 4);
  CHECK(a50.recommendations[0] == "Contact customer to verify order details");
  CHECK(a50.recommendations[1] == "Request additional identity verification");
  CHECK(a50.recommendations[2] == "Review order with high amount: $4000.00");
  CHECK(a50.recommendations[3] == "Verify shipping and billing addresses");
  score_input s74 = s50;
  s74.order_count_24h = 8;  // +24 = 74
  CHECK(assess(s74).risk_score == 74);
  CHECK(assess(s74).decision == "manual_review");
  score_input s75 = s50;
  s75.order_count_24h = 9;  // +25 = 75
  CHECK(assess(s75).risk_score == 75);
  CHECK(assess(s75).risk_level == "critical");
  CHECK(assess(s75).decision == "blocked");
  CHECK(assess(s75).triggered_rules.size() == 3);
}

TEST_CASE("all six signals together are capped at 100", "[fraud][rules]") {
  score_input in;
  in.amount = 900000;
  in.order_count_24h = 12;
  in.ip_reputation = "bad";
  in.ip_address = "1.2.3.4";
  in.address_mismatch = true;
  in.account_age_days = 0;
  in.payment_method_changes_7d = 5;
  auto a = assess(in);
  CHECK(a.signals.size() == 6);
  int raw = 0;
  for (const auto& s : a.signals) raw += s.risk_contribution;
  CHECK(raw == 145);
  CHECK(a.risk_score == 100);
  CHECK(a.decision == "blocked");
  CHECK(a.recommendations.size() == 8);
  CHECK(a.triggered_rules[0]["rule"] == "high_amount");
}

TEST_CASE("the blocked short-circuit result", "[fraud][rules]") {
  auto a = blocked_assessment("email");
  CHECK(a.risk_score == 100);
  CHECK(a.risk_level == "critical");
  CHECK(a.decision == "blocked");
  CHECK(a.signals.empty());
  CHECK(a.triggered_rules == json::array({{{"rule", "blocked_entity"}, {"type", "email"}}}));
  CHECK(a.recommendations == std::vector<std::string>{"Entity is blocked"});
}

TEST_CASE("identifier normalisation", "[fraud][rules]") {
  CHECK(normalize_email("  Bad@X.com ") == std::optional<std::string>{"bad@x.com"});
  CHECK_FALSE(normalize_email("not-an-email"));
  CHECK_FALSE(normalize_email("a@b"));
  CHECK_FALSE(normalize_email("a@@b.com"));
  CHECK_FALSE(normalize_email("@b.com"));
  CHECK(normalize_ip("192.168.001.1") == std::nullopt);  // leading zeros are ambiguous: refused
  CHECK(normalize_ip(" 10.0.0.1 ") == std::optional<std::string>{"10.0.0.1"});
  CHECK(normalize_ip("2001:DB8:0:0:0:0:0:1") == std::optional<std::string>{"2001:db8::1"});
  CHECK_FALSE(normalize_ip("999.1.1.1"));
  CHECK_FALSE(normalize_ip("abc"));
  CHECK(normalize_phone("+1 (555) 123-4567") == std::optional<std::string>{"+15551234567"});
  CHECK(normalize_phone("555.123.4567") == std::optional<std::string>{"+5551234567"});
  CHECK_FALSE(normalize_phone("call me"));
  CHECK_FALSE(normalize_phone("12"));
  CHECK(normalize_entity("customer", "CUST-001") == std::optional<std::string>{"CUST-001"});
  CHECK(normalize_entity("card_fingerprint", "fp_AbC") == std::optional<std::string>{"fp_AbC"});
  CHECK_FALSE(normalize_entity("device", "x"));
  CHECK(is_block_type("card_fingerprint"));
  CHECK_FALSE(is_block_type("order"));
}

TEST_CASE("sha256 matches the FIPS 180-4 test vectors", "[fraud][hash]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("score data validation: amount abc, negative, fractional count, currency", "[fraud][input]") {
  input::issue_list issues;
  CHECK_FALSE(parse({{"amount", "abc"}}, issues));
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].loc == std::vector<std::string>{"data", "amount"});
  issues.clear();
  CHECK_FALSE(parse({{"amount", -5}}, issues));
  issues.clear();
  CHECK_FALSE(parse({{"amount", 10}, {"order_count_24h", 2.5}}, issues));
  CHECK(issues[0].loc.back() == "order_count_24h");
  issues.clear();
  CHECK_FALSE(parse({{"amount", 10}, {"payment_method_changes_7d", "many"}}, issues));
  issues.clear();
  CHECK_FALSE(parse({{"amount", 10}, {"currency", "EUR"}}, issues));
  issues.clear();
  CHECK_FALSE(parse({{"amount", 10}, {"ip_address", "not-an-ip"}}, issues));
  issues.clear();
  CHECK_FALSE(parse(json::object(), issues, true));  // score_order: amount required
  issues.clear();
  CHECK_FALSE(read_score_message("shipment", "x", "", {{"amount", 1}}, false, {}, issues));
  issues.clear();
  CHECK_FALSE(read_score_message("order", "x", "", json::array(), false, {}, issues));
  issues.clear();
  auto ok = parse({{"amount", "1000.5"}, {"currency", "usd"}, {"order_count_24h", 7.0},
                   {"email", " Bad@X.com"}, {"phone", "+1 555 0100"}, {"ip_address", "2001:DB8::1"}},
                  issues);
  REQUIRE(ok);
  CHECK(issues.empty());
  CHECK(ok->input.amount == 100050);
  CHECK(ok->input.order_count_24h == 7);
  CHECK(ok->input.email == "bad@x.com");
  CHECK(ok->input.phone == "+15550100");
  CHECK(ok->input.ip_address == "2001:db8::1");
  CHECK(ok->data["amount"] == "1000.50");
}

TEST_CASE("input hash: equal for equivalent inputs, different when data changes", "[fraud][input]") {
  input::issue_list issues;
  auto a = parse({{"amount", 1000}, {"email", "A@B.com"}}, issues);
  auto b = parse({{"email", "a@b.com "}, {"amount", "1000.00"}}, issues);
  auto c = parse({{"amount", 1001}, {"email", "a@b.com"}}, issues);
  REQUIRE((a && b && c));
  CHECK(a->input_hash.size() == 64);
  CHECK(a->input_hash == b->input_hash);
  CHECK(a->input_hash != c->input_hash);
  auto other_entity = read_score_message("order", "o-2", "CUST-001", {{"amount", 1000}, {"email", "a@b.com"}},
                                         false, {}, issues);
  REQUIRE(other_entity);
  CHECK(other_entity->input_hash != a->input_hash);
}

TEST_CASE("check_fraud body: structured and flat legacy forms", "[fraud][input]") {
  input::issue_list issues;
  auto flat = read_check_request(
      {{"transaction_id", "txn-1"}, {"customer_id", "CUST-001"}, {"amount", 1000}, {"payment_method", "card"}},
      {}, issues);
  REQUIRE(flat);
  CHECK(flat->entity_type == "payment");
  CHECK(flat->entity_id == "txn-1");
  CHECK(flat->customer_id == "CUST-001");
  CHECK(flat->data["payment_method"] == "card");
  CHECK(flat->input.amount == 100000);

  auto by_order = read_check_request({{"order_id", "o-9"}, {"amount", 5}}, {}, issues);
  REQUIRE(by_order);
  CHECK(by_order->entity_type == "order");
  CHECK(by_order->entity_id == "o-9");

  auto structured = read_check_request(
      {{"entity_type", "account"}, {"entity_id", "acc-1"}, {"data", {{"address_mismatch", true}}}}, {}, issues);
  REQUIRE(structured);
  CHECK(structured->input.address_mismatch == true);
  CHECK(issues.empty());

  auto anonymous = read_check_request({{"amount", 5}}, {}, issues);
  REQUIRE(anonymous);
  CHECK(anonymous->entity_id.size() == 36);  // a new UUID

  CHECK_FALSE(read_check_request({{"entity_type", "galaxy"}, {"entity_id", "x"}, {"data", json::object()}}, {},
                                 issues));
  issues.clear();
  CHECK_FALSE(read_check_request({{"entity_type", "order"}, {"entity_id", "x"}, {"data", "nope"}}, {}, issues));
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].loc == std::vector<std::string>{"body", "data"});
  issues.clear();
  CHECK_FALSE(read_check_request({{"transaction_id", "t"}, {"amount", "abc"}}, {}, issues));
  CHECK(issues[0].loc == std::vector<std::string>{"body", "amount"});
}

TEST_CASE("block requests: both forms, normalisation and invalid values", "[fraud][input]") {
  input::issue_list issues;
  auto embedded = read_block_request(
      {{"request", {{"entity_type", "email"}, {"entity_value", "Bad@X.com"}, {"reason", "chargebacks"}}},
       {"blocked_by", "analyst"}},
      issues);
  REQUIRE(embedded);
  CHECK(embedded->entity_value == "bad@x.com");
  CHECK(embedded->blocked_by == "analyst");
  CHECK_FALSE(embedded->duration_hours);
  auto flat = read_block_request({{"entity_type", "ip"}, {"entity_value", "2001:DB8::0:1"}, {"reason", "r"},
                                  {"duration_hours", 24}, {"blocked_by", "a"}},
                                 issues);
  REQUIRE(flat);
  CHECK(flat->entity_value == "2001:db8::1");
  CHECK(flat->duration_hours == 24);
  CHECK(issues.empty());
  CHECK_FALSE(read_block_request({{"entity_type", "email"}, {"entity_value", "nope"}, {"reason", "r"},
                                  {"blocked_by", "a"}},
                                 issues));
  CHECK(issues.back().type == "value_error.email");
  CHECK_FALSE(read_block_request({{"entity_type", "ip"}, {"entity_value", "300.1.1.1"}, {"reason", "r"},
                                  {"blocked_by", "a"}},
                                 issues));
  CHECK_FALSE(read_block_request({{"entity_type", "planet"}, {"entity_value", "x"}, {"reason", "r"},
                                  {"blocked_by", "a"}},
                                 issues));
  CHECK_FALSE(read_block_request({{"entity_type", "customer"}, {"entity_value", "c"}, {"reason", ""},
                                  {"blocked_by", "a"}},
                                 issues));
  CHECK_FALSE(read_block_request({{"entity_type", "customer"}, {"entity_value", "c"}, {"reason", "r"},
                                  {"duration_hours", 8761}, {"blocked_by", "a"}},
                                 issues));
  issues.clear();
  CHECK_FALSE(read_block_request({{"entity_type", "customer"}, {"entity_value", "c"}, {"reason", "r"}}, issues));
  CHECK(issues.back().loc == std::vector<std::string>{"body", "blocked_by"});
}

TEST_CASE("account age from a registration date, ISO 8601 and UUID checks", "[fraud][input]") {
  using namespace std::chrono;
  const auto now = system_clock::from_time_t(1'700'000'000);  // 2023-11-14T22:13:20Z
  CHECK(account_age_days("2023-11-14T10:13:20Z", now) == Approx(0.5));
  CHECK(account_age_days("2023-11-13T22:13:20+00:00", now) == Approx(1.0));
  CHECK(account_age_days("2023-11-14T23:13:20+02:00", now) == Approx(0.04));
  CHECK(account_age_days("2023-11-04", now) == Approx(10.93));
  CHECK(account_age_days("2030-01-01T00:00:00Z", now) == Approx(0.0));
  CHECK_FALSE(account_age_days("yesterday", now));
  CHECK(is_iso8601("2024-05-01T10:00:00.123456Z"));
  CHECK_FALSE(is_iso8601("2024-13-01"));
  CHECK_FALSE(is_iso8601("2024-05-01T10"));
  CHECK(is_uuid("10000000-0000-4000-8000-000000000001"));
  CHECK_FALSE(is_uuid("10000000-0000-4000-8000-00000000000g"));
}

TEST_CASE("rules_json shows the weights in force", "[fraud][rules]") {
  rule_settings s;
  auto j = rules_json(s);
  CHECK(j["signals"].size() == 6);
  CHECK(j["signals"][2]["weight"] == 40);
  CHECK(j["levels"][0]["min_score"] == 75);
  s.bad_ip_weight = 35;
  CHECK(rules_json(s)["signals"][2]["weight"] == 35);
}
