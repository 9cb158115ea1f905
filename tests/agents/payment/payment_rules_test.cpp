// Plain-C++ rules of the payment agent: card checks, FSM, fees, SHA-256/HMAC, Stripe signatures,
// and the test gateway's documented outcomes and key replay.
#include <catch2/catch.hpp>

#include "payment/card_checks.hpp"
#include "domain/sha256.hpp"
#include "payment/payment_fsm.hpp"
#include "payment/stripe_gateway.hpp"
#include "payment/test_gateway.hpp"
#include "runtime/uuid.hpp"

using namespace mercato::payment;
namespace crypto = mercato::crypto;

TEST_CASE("card numbers are checked with Luhn and length, brands by prefix", "[payment][unit]") {
  CHECK(card_number_valid("4242424242424242"));
  CHECK_FALSE(card_number_valid("4242424242424241"));
  CHECK_FALSE(card_number_valid("424242424242"));  // 12 digits
  CHECK(card_number_valid("378282246310005"));
  CHECK(card_brand("4242424242424242") == "visa");
  CHECK(card_brand("5555555555554444") == "mastercard");
  CHECK(card_brand("2221000000000009") == "mastercard");
  CHECK(card_brand("378282246310005") == "amex");
  CHECK(card_brand("6011111111111117") == "discover");
  CHECK(normalize_card_number("4242 4242-4242 4242") == std::string("4242424242424242"));
  CHECK_FALSE(normalize_card_number("4242x"));
  CHECK(expiry_valid(12, 2030, 2025, 6));
  CHECK(expiry_valid(6, 2025, 2025, 6));
  CHECK_FALSE(expiry_valid(5, 2025, 2025, 6));
  CHECK_FALSE(expiry_valid(13, 2030, 2025, 6));
  CHECK(cvc_valid("123", "visa"));
  CHECK_FALSE(cvc_valid("1234", "visa"));
  CHECK(cvc_valid("1234", "amex"));
  CHECK(card_fingerprint("4242424242424242", "s") == card_fingerprint("4242424242424242", "s"));
  CHECK(card_fingerprint("4242424242424242", "s").find("4242") == std::string::npos);
}

TEST_CASE("sha256 and hmac match the published test vectors", "[payment][unit]") {
  CHECK(crypto::to_hex(crypto::sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(crypto::to_hex(crypto::sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(crypto::to_hex(crypto::sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // RFC 4231 test case 2.
  CHECK(crypto::to_hex(crypto::hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("stripe webhook signatures are verified with a 300 s tolerance", "[payment][unit]") {
  std::string body = R"({"id":"evt_1","type":"charge.refunded"})";
  std::string sig = crypto::to_hex(crypto::hmac_sha256("whsec_x", "1700000000." + body));
  std::string header = "t=1700000000,v1=" + sig;
  CHECK(verify_stripe_signature(header, body, "whsec_x", 1700000100));
  CHECK_FALSE(verify_stripe_signature(header, body, "whsec_x", 1700000400));  // too old
  CHECK_FALSE(verify_stripe_signature(header, body + " ", "whsec_x", 1700000100));
  CHECK_FALSE(verify_stripe_signature(header, body, "whsec_y", 1700000100));
  CHECK_FALSE(verify_stripe_signature("garbage", body, "whsec_x", 1700000100));
}

TEST_CASE("the FSM accepts and refuses operations per state", "[payment][unit]") {
  payment_amounts a{"authorized", 10000, 0, 0, false, false};
  CHECK_FALSE(check_capture(a, 6000));
  CHECK(status_after_capture(a, 6000, false) == "partially_captured");
  CHECK(check_capture(a, 10001)->code == "amount_exceeds_remaining");
  CHECK(check_capture(a, 10001)->message == "Capture amount exceeds authorized remaining amount (100.00)");
  a.expired = true;
  CHECK(check_capture(a, 100)->code == "authorization_expired");
  payment_amounts voided{"voided", 10000, 0, 0, true, false};
  CHECK(check_capture(voided, 100)->message == "Payment is not in a capturable state (status: voided)");
  payment_amounts captured{"captured", 10000, 10000, 0, true, false};
  CHECK(check_void(captured)->message == "Payment already captured; refund instead");
  CHECK(check_refund(a, 100)->code == "not_captured");
  CHECK(check_refund(captured, 10001)->message == "Refund amount exceeds refundable amount (100.00)");
  CHECK(status_after_refund(captured, 3000) == "partially_refunded");
  payment_amounts part{"partially_refunded", 10000, 10000, 3000, true, false};
  CHECK(status_after_refund(part, 7000) == "refunded");
  payment_amounts partly{"partially_captured", 10000, 6000, 0, false, false};
  CHECK(status_after_void(partly) == "captured");
  CHECK(transaction_fee(6000, 290, 30) == 204);   // 1.74 + 0.30
  CHECK(transaction_fee(4000, 290, 30) == 146);   // 1.16 + 0.30
  CHECK(transaction_fee(1750, 290, 30) == 81);    // 0.5075 → 0.51 + 0.30
}

TEST_CASE("the test gateway gives each documented card its outcome", "[payment][unit]") {
  test_gateway g;
  auto auth = [&](const char* token) { return g.authorize(1000, "USD", token, false, mercato::uuid_v4()); };
  CHECK(auth("tok_visa").approved());
  CHECK(auth("tok_mastercard").approved());
  CHECK(auth("tok_amex").approved());
  CHECK(auth("tok_chargeDeclined").error_code == "card_declined");
  CHECK(auth("tok_chargeDeclinedInsufficientFunds").error_code == "insufficient_funds");
  CHECK(auth("tok_chargeDeclinedExpiredCard").error_code == "expired_card");
  CHECK(auth("tok_chargeDeclinedIncorrectCvc").error_code == "incorrect_cvc");
  CHECK(auth("tok_processingError").error_code == "processing_error");
  CHECK(auth("tok_chargeDeclinedFraudulent").error_code == "fraudulent");
  CHECK(auth("tok_nonsense").result == gateway_result::outcome::declined);
  CHECK(behaviour_of_card("4000000000000069") == test_behaviour::expired_card);
  CHECK(behaviour_of_card("4111111111111111") == test_behaviour::approve);
  CHECK(behaviour_of_token(make_test_token(test_behaviour::insufficient_funds)) ==
        test_behaviour::insufficient_funds);

  auto cd = auth("tok_captureDeclined");
  REQUIRE(cd.approved());
  CHECK(g.capture(cd.reference, 1000, true, mercato::uuid_v4()).error_code == "card_declined");
  auto rf = auth("tok_refundFail");
  REQUIRE(g.capture(rf.reference, 1000, true, mercato::uuid_v4()).approved());
  CHECK(g.refund(rf.reference, 500, mercato::uuid_v4()).error_code == "refund_failed");
}

TEST_CASE("a timed-out gateway call is recorded and replayed by its key, never repeated", "[payment][unit]") {
  test_gateway g;
  auto first = g.authorize(5000, "USD", "tok_timeout", false, "k-auth");
  CHECK(first.result == gateway_result::outcome::outcome_unknown);
  auto again = g.authorize(5000, "USD", "tok_timeout", false, "k-auth");
  REQUIRE(again.approved());
  auto c1 = g.capture(again.reference, 5000, true, "k-cap");
  CHECK(c1.result == gateway_result::outcome::outcome_unknown);
  auto c2 = g.capture(again.reference, 5000, true, "k-cap");
  CHECK(c2.approved());
  CHECK(g.capture_calls(again.reference) == 1);
  CHECK(g.captured_total(again.reference) == 5000);
  // A different key cannot capture more than was authorized (its first answer is lost too).
  CHECK(g.capture(again.reference, 1, false, "k-cap-2").result == gateway_result::outcome::outcome_unknown);
  CHECK(g.capture(again.reference, 1, false, "k-cap-2").result == gateway_result::outcome::declined);
  CHECK(g.captured_total(again.reference) == 5000);
}
