// The payment agent's shared authorizations (payment_operations::authorize_all and the store's
// batch statements) on a migrated database, without actors: which inputs share the staging and
// the completion, what each answers, what is written, the version guard, and the statements'
// generic plans.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <pqxx/pqxx>

#include "payment/payment_operations.hpp"
#include "support/db_fixture.hpp"
#include "support/plan_capture.hpp"

using namespace mercato;
using test::check_key_probes;
using test::plan_capture;

namespace {

payment::authorize_input input(const std::string& order, const std::string& token, money::cents amount = 5000) {
  payment::authorize_input in;
  in.order_id = order;
  in.customer_id = "CUST-001";
  in.amount = amount;
  in.currency = "USD";
  in.token = token;
  in.key = "order:" + order;
  return in;
}

payment::payment_operations test_operations() {
  return payment::payment_operations{
      std::make_shared<payment::gateway_registry>(payment::payment_settings{}, payment::stripe_settings{})};
}

}  // namespace

TEST_CASE("authorize_all: orders on the test gateway share one staging and one completion, the rest is left "
          "to authorize()",
          "[payment][batch]") {
  test::migrated_database db;
  auto conn = db.connect();
  auto ops = test_operations();
  const auto count = [&](const std::string& sql) {
    pqxx::read_transaction tx{*conn};
    return tx.exec1(sql)[0].as<int64_t>();
  };
  const auto earlier = ops.authorize(*conn, input("ORD-OLD", "tok_visa"));
  REQUIRE_FALSE(earlier.refusal);

  std::vector<payment::authorize_input> ins{
      input("ORD-A", "tok_visa"),                  // 0 authorized
      input("ORD-B", "tok_chargeDeclined"),        // 1 declined, answered by the batch
      input("ORD-C", "tok_timeout"),               // 2 outcome unknown: recorded by apply()
      input("ORD-OLD", "tok_visa"),                // 3 a repeated key: left
      input("ORD-D", "tok_visa", 0),               // 4 refused (zero amount): left
      input("ORD-E", "tok_mastercard", 1234),      // 5 authorized
      input("ORD-E", "tok_mastercard", 1234),      // 6 the same order again: left
      input("ORD-F", "tok_visa", 2500),            // 7 a sale
      input("ORD-G", "tok_visa"),                  // 8 blocked by fraud screening: declined, never sent
  };
  ins[7].capture = true;
  ins[8].fraud_blocked = true;

  std::vector<std::optional<payment::operation_result>> out;
  {
    plan_capture plans{*conn};
    out = ops.authorize_all(*conn, ins);
    // One staging and one completion statement for the six shared inputs, each probing by key.
    CHECK(plans.plans_of("mercato.batch_items").size() == 2);
    check_key_probes(plans, "mercato.batch_items");
    // The completion locks each payment by a primary-key probe, however small the table is when
    // its generic plan is made (a join hashed a sequential scan of payments).
    const auto completion = plans.plans_of("UPDATE payments.payment_transactions");
    REQUIRE(completion.size() == 1);
    INFO(completion[0]);
    CHECK(completion[0].find("Seq Scan on payments") == std::string::npos);
    CHECK(completion[0].find("Index Scan using payments_pkey on payments") != std::string::npos);
  }
  REQUIRE(out.size() == ins.size());
  for (size_t left : {3, 4, 6}) CHECK_FALSE(out[left]);
  for (size_t shared : {0, 1, 2, 5, 7, 8}) REQUIRE(out[shared]);

  CHECK_FALSE(out[0]->refusal);
  CHECK(out[0]->payment.status == "authorized");
  CHECK(out[0]->payment.authorized == 5000);
  CHECK(out[0]->payment.version == 2);
  CHECK(out[0]->transaction.status == "completed");
  REQUIRE(out[1]->refusal);
  CHECK(out[1]->refusal->code == "declined");
  CHECK(out[1]->payment.status == "failed");
  CHECK(out[1]->transaction.error_code == "card_declined");
  CHECK(out[2]->outcome_unknown);
  CHECK(out[2]->transaction.status == "pending");
  CHECK(out[5]->payment.status == "authorized");
  CHECK(out[5]->payment.authorized == 1234);
  CHECK(out[7]->payment.status == "captured");
  CHECK(out[7]->payment.captured == 2500);
  CHECK(out[7]->transaction.fee > 0);
  REQUIRE(out[8]->refusal);
  CHECK(out[8]->refusal->code == "fraud_blocked");
  CHECK(out[8]->transaction.error_code == "FRAUD_BLOCKED");

  // One payment and one transaction per order; none for the refused one; nothing new for the key.
  CHECK(count("SELECT count(*) FROM payments.payments") == 7);  // A, B, C, E, F, G and the earlier one
  CHECK(count("SELECT count(*) FROM payments.payments WHERE order_id = 'ORD-D'") == 0);
  CHECK(count("SELECT count(*) FROM payments.payment_transactions WHERE order_id IN ('ORD-OLD', 'ORD-E')") == 2);
  // The audit row and the events of every decided answer, none for the one still pending.
  CHECK(count("SELECT count(*) FROM payments.payment_audit_log") == 6);
  CHECK(count("SELECT count(*) FROM payments.payment_audit_log a JOIN payments.payments p USING (payment_id)"
              " WHERE p.order_id = 'ORD-C'") == 0);
  CHECK(count("SELECT count(*) FROM payments.outbox_events WHERE name = 'payment.payment_authorized'") == 4);
  CHECK(count("SELECT count(*) FROM payments.outbox_events WHERE name = 'payment.payment_captured'") == 1);
  CHECK(count("SELECT count(*) FROM payments.outbox_events WHERE name = 'payment.payment_failed'") == 2);

  // What was left is answered by authorize() as before: the stored result, the refusal, the replay.
  const auto replay = ops.authorize(*conn, ins[3]);
  CHECK(replay.replayed);
  CHECK(replay.payment.payment_id == earlier.payment.payment_id);
  const auto refused = ops.authorize(*conn, ins[4]);
  REQUIRE(refused.refusal);
  CHECK(refused.refusal->code == "invalid");
  const auto again = ops.authorize(*conn, ins[6]);
  CHECK(again.replayed);
  CHECK(again.payment.payment_id == out[5]->payment.payment_id);
  // The timeout's retry gets the gateway's recorded answer: one transaction, now authorized.
  const auto retried = ops.authorize(*conn, ins[2]);
  CHECK_FALSE(retried.refusal);
  CHECK(retried.payment.status == "authorized");
  CHECK(count("SELECT count(*) FROM payments.payment_transactions WHERE order_id = 'ORD-C'") == 1);
}

TEST_CASE("complete_all_if_unchanged writes only the payments still at their planned version", "[payment][batch]") {
  test::migrated_database db;
  auto conn = db.connect();
  pqxx::nontransaction tx{*conn};
  std::vector<payment::staged_authorization> items;
  for (const char* order : {"ORD-1", "ORD-2", "ORD-3"}) {
    payment::payment_row p;
    p.payment_id = tx.exec1("SELECT gen_random_uuid()::text")[0].c_str();
    p.order_id = order;
    p.customer_id = "CUST-001";
    p.gateway_id = 1;
    p.instrument_token = "tok_visa";
    p.currency = "USD";
    p.status = "pending";
    p.amount = 1000;
    p.version = payment::new_payment_version;
    auto t = payment::pending_transaction(p, "authorize", 1000, std::string("key-") + order);
    items.push_back({p, t});
  }
  const auto staged = payment::stage_authorizations(tx, items, true);
  REQUIRE(staged.size() == 3);
  for (const auto& s : staged) CHECK(s.inserted);
  // The same documents again: each finds its earlier transaction by key, nothing is written.
  const auto repeated = payment::stage_authorizations(tx, items, true);
  for (const auto& s : repeated) {
    CHECK_FALSE(s.inserted);
    REQUIRE(s.earlier);
  }
  CHECK(repeated[1].earlier->transaction_id == items[1].transaction.transaction_id);
  // ORD-2's payment changes under the batch (a concurrent retry, a webhook).
  tx.exec("UPDATE payments.payments SET version = version + 1 WHERE order_id = 'ORD-2'");

  const db::outbox outbox{"payments"};
  const db::outbox_rows no_events;
  std::vector<payment::completion> completions;
  for (const auto& [p, t] : items) {
    auto done = t;
    done.status = "completed";
    done.gateway_transaction_id = "test_ch_" + p.order_id;
    auto next = p;
    next.status = "authorized";
    next.authorized = 1000;
    completions.push_back(
        {done, p.version, next, true, 3600, payment::audit_entry{"authorize", "pending", 1000}, &no_events});
  }
  const auto written = payment::complete_all_if_unchanged(tx, completions, outbox);
  REQUIRE(written.size() == 3);
  REQUIRE(written[0]);
  CHECK_FALSE(written[1]);
  REQUIRE(written[2]);
  CHECK(written[0]->payment.status == "authorized");
  CHECK(written[0]->payment.version == 2);
  CHECK(written[0]->transaction.status == "completed");
  CHECK(written[2]->transaction.gateway_transaction_id == "test_ch_ORD-3");
  const auto value = [&](const std::string& sql) { return std::string(tx.exec1(sql)[0].c_str()); };
  CHECK(value("SELECT status || ' ' || version FROM payments.payments WHERE order_id = 'ORD-2'") == "pending 2");
  CHECK(value("SELECT transaction_status FROM payments.payment_transactions WHERE order_id = 'ORD-2'") == "pending");
  CHECK(value("SELECT count(*) FROM payments.payment_audit_log") == "2");
  CHECK(value("SELECT count(*) FROM payments.payments WHERE status = 'authorized' AND expires_at > now()") == "2");
}
