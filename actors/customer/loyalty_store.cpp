// SQL for the loyalty ledger, store credit and the order events the customer agent consumes
// (see customer_store.hpp). Points live in lots (ledger rows with points_remaining) consumed
// oldest expiry first; every movement locks the customer's loyalty (or store-credit) row first,
// so concurrent redemptions of one customer serialize and a balance can never go below zero.
#include <algorithm>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "customer/customer_store.hpp"
#include "customer/loyalty_rules.hpp"
#include "db/hot_statement.hpp"
#include "db/outbox.hpp"
#include "runtime/uuid.hpp"

namespace mercato::customer::store {
namespace {

using opt_text = std::optional<std::string>;
using opt_int = std::optional<int64_t>;
namespace ly = loyalty;

money::cents cents_of(const pqxx::field& f) {
  if (f.is_null()) return 0;
  return money::parse_decimal(f.c_str()).value_or(0);
}

opt_text as_of_param(const std::string& as_of) {
  if (as_of.empty()) return std::nullopt;
  return as_of;
}

struct account {
  std::string customer_id;
  ly::tier tier = ly::tier::bronze;
  int64_t balance = 0;
};

// Locks the loyalty row of a live profile.
std::optional<account> lock_account(pqxx::work& tx, const std::string& customer_id) {
  auto r = tx.exec_params(
      "SELECT l.loyalty_tier, l.points_balance FROM customers.customer_loyalty l "
      "JOIN customers.customer_profiles p ON p.customer_id = l.customer_id "
      "WHERE l.customer_id = $1 AND p.deleted_at IS NULL FOR UPDATE OF l",
      customer_id);
  if (r.empty()) return std::nullopt;
  account a;
  a.customer_id = customer_id;
  a.tier = ly::parse_tier(r[0][0].c_str()).value_or(ly::tier::bronze);
  a.balance = r[0][1].as<int64_t>();
  return a;
}

struct ledger_row {
  std::string type;
  int64_t amount = 0;
  int64_t balance_after = 0;
  opt_int remaining;
  opt_text reference_type, reference_id, source, description, expires_at;
  opt_text merchandise_amount;
};

std::string insert_ledger(pqxx::work& tx, const std::string& customer_id, const ledger_row& l) {
  std::string id = uuid_v4();
  tx.exec_params(
      "INSERT INTO customers.loyalty_transactions (transaction_id, customer_id, transaction_type, "
      "points_amount, points_balance_after, points_remaining, reference_type, reference_id, "
      "source_transaction_id, description, expires_at, merchandise_amount) "
      "VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9::uuid, $10, $11::timestamptz, $12::numeric)",
      id, customer_id, l.type, l.amount, l.balance_after, l.remaining, l.reference_type, l.reference_id,
      l.source, l.description, l.expires_at, l.merchandise_amount);
  return id;
}

// qualifying_points are maintained by requalify (earning, reversal) and the tier review.
void set_points(pqxx::work& tx, const std::string& customer_id, int64_t balance, int64_t lifetime_delta) {
  tx.exec_params(
      "UPDATE customers.customer_loyalty SET points_balance = $2, points_lifetime = points_lifetime + $3, "
      "updated_at = now() WHERE customer_id = $1",
      customer_id, balance, lifetime_delta);
}

void points_changed(pqxx::work& tx, const std::string& customer_id, int64_t delta, int64_t balance,
                    const std::string& reason, const std::string& reference) {
  publish(tx, "loyalty_points_changed",
          json{{"customer_id", customer_id}, {"delta", delta}, {"balance", balance}, {"reason", reason},
               {"reference", reference}},
          customer_id, reference);
}

// Qualifying points: earned (net of reversals) in the 365 days up to `as_of` ("" = now).
int64_t qualifying_in_window(pqxx::work& tx, const std::string& customer_id, const std::string& as_of) {
  return tx.exec_params(
      "SELECT greatest(0, coalesce(sum(points_amount), 0)) FROM customers.loyalty_transactions "
      "WHERE customer_id = $1 AND transaction_type IN ('earn', 'bonus', 'reverse') "
      "AND created_at > coalesce($2::timestamptz, now()) - interval '365 days' "
      "AND created_at <= coalesce($2::timestamptz, now())",
      customer_id, as_of_param(as_of))[0][0].as<int64_t>();
}

// After an earning or a reversal: qualifying_points recomputed over the last 365 days (a stored
// running total would still count points that left the window since the last review).
int64_t requalify(pqxx::work& tx, const std::string& customer_id) {
  int64_t q = qualifying_in_window(tx, customer_id, "");
  tx.exec_params("UPDATE customers.customer_loyalty SET qualifying_points = $2 WHERE customer_id = $1", customer_id, q);
  return q;
}

// Upgrades at once when qualifying points cross a threshold (tier_start today, expiry +365 d).
void upgrade_if_reached(pqxx::work& tx, const account& a, int64_t qualifying) {
  ly::tier reached = ly::tier_for(qualifying);
  if (reached <= a.tier) return;
  tx.exec_params(
      "UPDATE customers.customer_loyalty SET loyalty_tier = $2, tier_start_date = current_date, "
      "tier_expiry_date = current_date + 365, updated_at = now() WHERE customer_id = $1",
      a.customer_id, std::string{ly::to_string(reached)});
  publish(tx, "loyalty_tier_changed",
          json{{"customer_id", a.customer_id}, {"old_tier", ly::to_string(a.tier)}, {"new_tier", ly::to_string(reached)}},
          a.customer_id);
}

struct taken_lot {
  std::string lot_id;
  int64_t points = 0;
  opt_text expires_at;
};

// Takes up to `points` from the customer's unexpired lots, oldest expiry first (the loyalty row
// is already locked; the lots are locked here).
std::vector<taken_lot> consume_lots(pqxx::work& tx, const std::string& customer_id, int64_t points) {
  std::vector<taken_lot> taken;
  if (points <= 0) return taken;
  auto lots = tx.exec_params(
      "SELECT transaction_id::text, points_remaining, expires_at::text FROM customers.loyalty_transactions "
      "WHERE customer_id = $1 AND points_remaining > 0 AND (expires_at IS NULL OR expires_at > now()) "
      "ORDER BY expires_at NULLS LAST, created_at, transaction_id FOR UPDATE",
      customer_id);
  int64_t left = points;
  for (const auto& r : lots) {
    if (left == 0) break;
    int64_t take = std::min(left, r[1].as<int64_t>());
    tx.exec_params("UPDATE customers.loyalty_transactions SET points_remaining = points_remaining - $2 "
                   "WHERE transaction_id = $1::uuid",
                   std::string{r[0].c_str()}, take);
    taken.push_back({r[0].c_str(), take, r[2].is_null() ? opt_text{} : opt_text{r[2].c_str()}});
    left -= take;
  }
  return taken;
}

int64_t sum_taken(const std::vector<taken_lot>& lots) {
  int64_t n = 0;
  for (const auto& l : lots) n += l.points;
  return n;
}

json ledger_json(const pqxx::row& r) {
  json j = json::object();
  j["transaction_id"] = r["transaction_id"].c_str();
  j["customer_id"] = r["customer_id"].c_str();
  j["transaction_type"] = r["transaction_type"].c_str();
  j["points_amount"] = r["points_amount"].as<int64_t>();
  j["points_balance_after"] = r["points_balance_after"].as<int64_t>();
  j["points_remaining"] = r["points_remaining"].is_null() ? json(nullptr) : json(r["points_remaining"].as<int64_t>());
  for (const char* k : {"reference_type", "reference_id", "description", "expires_at"})
    j[k] = r[k].is_null() ? json(nullptr) : json(r[k].c_str());
  j["created_at"] = r["created_at"].c_str();
  return j;
}

std::string ledger_select() {
  return "SELECT transaction_id::text AS transaction_id, customer_id, transaction_type, points_amount, "
         "points_balance_after, points_remaining, reference_type, reference_id, description, " +
         iso_sql("expires_at") + " AS expires_at, " + iso_sql("created_at") +
         " AS created_at FROM customers.loyalty_transactions ";
}

bool ledger_exists(pqxx::work& tx, const char* type, const char* ref_type, const std::string& ref_id) {
  return !tx.exec_params("SELECT 1 FROM customers.loyalty_transactions WHERE transaction_type = $1 "
                         "AND reference_type = $2 AND reference_id = $3",
                         std::string{type}, std::string{ref_type}, ref_id)
              .empty();
}

}  // namespace

// ---- loyalty --------------------------------------------------------------------------------

result<json> loyalty(pqxx::work& tx, const std::string& customer_id) {
  using R = result<json>;
  auto r = tx.exec_params(
      "SELECT l.loyalty_id::text, l.loyalty_tier, l.points_balance, l.points_lifetime, l.qualifying_points, "
      "l.tier_start_date::text, l.tier_expiry_date::text, l.referral_code, l.referrals_count, " +
          iso_sql("l.created_at") + ", " + iso_sql("l.updated_at") +
          ", (SELECT coalesce(sum(points_remaining), 0) FROM customers.loyalty_transactions t "
          "   WHERE t.customer_id = l.customer_id AND t.points_remaining > 0 "
          "   AND t.expires_at > now() AND t.expires_at <= now() + interval '30 days') "
          "FROM customers.customer_loyalty l JOIN customers.customer_profiles p ON p.customer_id = l.customer_id "
          "WHERE l.customer_id = $1 AND p.deleted_at IS NULL",
      customer_id);
  if (r.empty())
    return R::fail(failure_kind::not_found, "loyalty_not_found",
                   fmt::format("Loyalty information for customer ID {} not found", customer_id));
  const auto& row = r[0];
  ly::tier t = ly::parse_tier(row[1].c_str()).value_or(ly::tier::bronze);
  int64_t balance = row[2].as<int64_t>(), qualifying = row[4].as<int64_t>();
  auto next = ly::next_tier(t);
  json j{{"loyalty_id", row[0].c_str()},
         {"customer_id", customer_id},
         {"loyalty_tier", row[1].c_str()},
         {"points_balance", balance},
         {"points_lifetime", row[3].as<int64_t>()},
         {"qualifying_points", qualifying},
         {"tier_start_date", row[5].c_str()},
         {"tier_expiry_date", row[6].c_str()},
         {"next_tier", next ? json(ly::to_string(*next)) : json(nullptr)},
         {"points_to_next_tier", ly::points_to_next_tier(t, qualifying)},
         {"points_value", money::to_json(ly::points_value(balance))},
         {"points_expiring_30d", row[11].as<int64_t>()},
         {"referral_code", row[7].c_str()},
         {"referrals_count", row[8].as<int64_t>()},
         {"created_at", row[9].c_str()},
         {"updated_at", row[10].c_str()}};
  return R::of(std::move(j));
}

result<json> loyalty_transactions(pqxx::work& tx, const std::string& customer_id, const opt_text& type,
                                  int64_t skip, int64_t limit) {
  using R = result<json>;
  if (!load_profile(tx, customer_id))
    return R::fail(failure_kind::not_found, "customer_not_found", not_found_text(customer_id));
  auto rows = tx.exec_params(ledger_select() +
                                 "WHERE customer_id = $1 AND ($2::text IS NULL OR transaction_type = $2) "
                                 "ORDER BY created_at DESC, transaction_id LIMIT $3 OFFSET $4",
                             customer_id, type, limit, skip);
  json out = json::array();
  for (const auto& r : rows) out.push_back(ledger_json(r));
  return R::of(std::move(out));
}

result<json> adjust_points(pqxx::work& tx, const std::string& customer_id, int64_t points,
                           const std::string& reason, const std::string& adjusted_by) {
  using R = result<json>;
  auto a = lock_account(tx, customer_id);
  if (!a) return R::fail(failure_kind::not_found, "customer_not_found", not_found_text(customer_id));
  if (a->balance + points < 0)
    return R::fail(failure_kind::conflict, "negative_balance", "Adjustment would make the balance negative");
  ledger_row l;
  l.type = "adjustment";
  l.amount = points;
  l.balance_after = a->balance + points;
  l.reference_type = "admin";
  l.description = fmt::format("{} (by {})", reason, adjusted_by);
  if (points > 0) {
    l.remaining = points;  // a positive adjustment is a lot like earned points
    l.expires_at = tx.exec("SELECT (now() + interval '365 days')::text")[0][0].c_str();
  } else {
    consume_lots(tx, customer_id, -points);
  }
  std::string id = insert_ledger(tx, customer_id, l);
  set_points(tx, customer_id, l.balance_after, 0);
  points_changed(tx, customer_id, points, l.balance_after, "adjustment", id);
  auto row = tx.exec_params(ledger_select() + "WHERE transaction_id = $1::uuid", id)[0];
  return R::of(json{{"transaction", ledger_json(row)}, {"loyalty", *loyalty(tx, customer_id).value}});
}

result<redemption> quote_points(pqxx::work& tx, const quote_redemption& q) {
  using R = result<redemption>;
  auto r = tx.exec_params(
      "SELECT l.points_balance FROM customers.customer_loyalty l JOIN customers.customer_profiles p "
      "ON p.customer_id = l.customer_id WHERE l.customer_id = $1 AND p.deleted_at IS NULL",
      q.customer_id);
  if (r.empty()) return R::fail(failure_kind::not_found, "customer_not_found", not_found_text(q.customer_id));
  int64_t balance = r[0][0].as<int64_t>();
  auto quote = ly::quote_redemption(q.points, q.merchandise_amount, balance);
  if (quote.error != ly::quote_error::none)
    return R::fail(failure_kind::invalid, std::string{ly::error_code(quote.error)},
                   ly::error_message(quote, q.merchandise_amount, balance),
                   json{{"points_balance", balance}}.dump());
  return R::of(redemption{quote.points, quote.discount});
}

result<redemption> redeem(pqxx::work& tx, const redeem_points& m) {
  using R = result<redemption>;
  if (m.order_id.empty()) return R::fail(failure_kind::invalid, "invalid_order", "order_id is required");
  auto a = lock_account(tx, m.customer_id);
  if (!a) return R::fail(failure_kind::not_found, "customer_not_found", not_found_text(m.customer_id));
  // Idempotent by order: checked under the customer's lock, so a concurrent retry sees the first.
  auto prior = tx.exec_params(
      "SELECT customer_id, -points_amount FROM customers.loyalty_transactions WHERE transaction_type = 'redeem' "
      "AND reference_type = 'order' AND reference_id = $1",
      m.order_id);
  if (!prior.empty()) {
    if (prior[0][0].c_str() != m.customer_id)
      return R::fail(failure_kind::conflict, "order_mismatch", "Points were already redeemed for this order by another customer");
    int64_t p = prior[0][1].as<int64_t>();
    return R::of(redemption{p, ly::points_value(p)});
  }
  auto quote = ly::quote_redemption(m.points, m.merchandise_amount, a->balance);
  if (quote.error != ly::quote_error::none)
    return R::fail(failure_kind::invalid, std::string{ly::error_code(quote.error)},
                   ly::error_message(quote, m.merchandise_amount, a->balance),
                   json{{"points_balance", a->balance}}.dump());
  auto lots = consume_lots(tx, m.customer_id, m.points);
  if (sum_taken(lots) != m.points)  // lots and balance disagree: a bug, never a partial redemption
    throw std::runtime_error(fmt::format("loyalty lots of {} do not cover the balance", m.customer_id));
  ledger_row l;
  l.type = "redeem";
  l.amount = -m.points;
  l.balance_after = a->balance - m.points;
  l.reference_type = "order";
  l.reference_id = m.order_id;
  l.merchandise_amount = money::format(m.merchandise_amount);
  l.description = fmt::format("Redeemed for order {}", m.order_id);
  std::string id = insert_ledger(tx, m.customer_id, l);
  for (const auto& lot : lots)
    tx.exec_params("INSERT INTO customers.loyalty_redemption_lots (redeem_transaction_id, lot_transaction_id, "
                   "points, expires_at) VALUES ($1::uuid, $2::uuid, $3, $4::timestamptz)",
                   id, lot.lot_id, lot.points, lot.expires_at);
  set_points(tx, m.customer_id, l.balance_after, 0);
  points_changed(tx, m.customer_id, -m.points, l.balance_after, "redeem", m.order_id);
  return R::of(redemption{m.points, quote.discount});
}

result<redemption> restore(pqxx::work& tx, const restore_points& m) {
  using R = result<redemption>;
  auto find = [&] {
    return tx.exec_params(
        "SELECT transaction_id::text, customer_id, restored_at IS NOT NULL FROM customers.loyalty_transactions "
        "WHERE transaction_type = 'redeem' AND reference_type = 'order' AND reference_id = $1",
        m.order_id);
  };
  auto first = find();
  if (first.empty()) return R::of(redemption{0, 0});  // nothing redeemed: nothing to restore
  const std::string customer_id = first[0][1].c_str();
  auto a = lock_account(tx, customer_id);
  if (!a) return R::of(redemption{0, 0});  // an erased profile keeps no points
  auto r = find();                          // again, under the customer's lock
  if (r[0][2].as<bool>()) return R::of(redemption{0, 0});
  const std::string redeem_id = r[0][0].c_str();
  auto lots = tx.exec_params(
      "SELECT lot_transaction_id::text, points, expires_at::text FROM customers.loyalty_redemption_lots "
      "WHERE redeem_transaction_id = $1::uuid ORDER BY expires_at NULLS LAST, lot_transaction_id",
      redeem_id);
  int64_t balance = a->balance, restored = 0;
  for (const auto& lot : lots) {
    int64_t p = lot[1].as<int64_t>();
    balance += p;
    restored += p;
    ledger_row l;
    l.type = "restore";
    l.amount = p;
    l.balance_after = balance;
    l.remaining = p;  // a new lot that keeps the consumed lot's expiry date
    l.reference_type = "order";
    l.reference_id = m.order_id;
    l.source = std::string{lot[0].c_str()};
    l.expires_at = lot[2].is_null() ? opt_text{} : opt_text{lot[2].c_str()};
    l.description = fmt::format("Restored from order {}", m.order_id);
    insert_ledger(tx, customer_id, l);
  }
  tx.exec_params("UPDATE customers.loyalty_transactions SET restored_at = now() WHERE transaction_id = $1::uuid",
                 redeem_id);
  set_points(tx, customer_id, balance, 0);
  if (restored > 0) points_changed(tx, customer_id, restored, balance, "restore", m.order_id);
  return R::of(redemption{restored, ly::points_value(restored)});
}

int64_t expire_lots(pqxx::work& tx, const std::string& as_of) {
  auto customers = tx.exec_params(
      "SELECT DISTINCT customer_id FROM customers.loyalty_transactions WHERE points_remaining > 0 "
      "AND expires_at <= coalesce($1::timestamptz, now()) ORDER BY customer_id",
      as_of_param(as_of));
  int64_t expired = 0;
  for (const auto& c : customers) {
    const std::string customer_id = c[0].c_str();
    auto locked = tx.exec_params("SELECT points_balance FROM customers.customer_loyalty WHERE customer_id = $1 FOR UPDATE",
                                 customer_id);
    if (locked.empty()) continue;
    int64_t balance = locked[0][0].as<int64_t>();
    auto lots = tx.exec_params(
        "SELECT transaction_id::text, points_remaining FROM customers.loyalty_transactions "
        "WHERE customer_id = $1 AND points_remaining > 0 AND expires_at <= coalesce($2::timestamptz, now()) "
        "ORDER BY expires_at, transaction_id FOR UPDATE",
        customer_id, as_of_param(as_of));
    int64_t total = 0;
    for (const auto& lot : lots) {
      const std::string lot_id = lot[0].c_str();
      if (ledger_exists(tx, "expire", "expiry", lot_id)) continue;  // idempotent by the lot id
      int64_t p = std::min(lot[1].as<int64_t>(), balance);
      balance -= p;
      total += p;
      tx.exec_params("UPDATE customers.loyalty_transactions SET points_remaining = 0 WHERE transaction_id = $1::uuid",
                     lot_id);
      ledger_row l;
      l.type = "expire";
      l.amount = -p;
      l.balance_after = balance;
      l.reference_type = "expiry";
      l.reference_id = lot_id;
      l.source = lot_id;
      l.description = "Points expired";
      insert_ledger(tx, customer_id, l);
      ++expired;
    }
    set_points(tx, customer_id, balance, 0);
    if (total > 0) points_changed(tx, customer_id, -total, balance, "expire", customer_id);
  }
  return expired;
}

int64_t review_tier_expiries(pqxx::work& tx, const std::string& as_of) {
  auto due = tx.exec_params(
      "SELECT customer_id, loyalty_tier, coalesce($1::timestamptz, now())::date::text "
      "FROM customers.customer_loyalty WHERE tier_expiry_date <= coalesce($1::timestamptz, now())::date "
      "ORDER BY customer_id FOR UPDATE",
      as_of_param(as_of));
  for (const auto& d : due) {
    const std::string customer_id = d[0].c_str();
    ly::tier current = ly::parse_tier(d[1].c_str()).value_or(ly::tier::bronze);
    // qualifying points: earned (net of reversals) in the 365 days before the review
    int64_t qualifying = qualifying_in_window(tx, customer_id, as_of);
    ly::tier next = ly::reviewed_tier(current, qualifying);
    tx.exec_params(
        "UPDATE customers.customer_loyalty SET loyalty_tier = $2, qualifying_points = $3, "
        "tier_start_date = CASE WHEN loyalty_tier = $2 THEN tier_start_date ELSE $4::date END, "
        "tier_expiry_date = $4::date + 365, updated_at = now() WHERE customer_id = $1",
        customer_id, std::string{ly::to_string(next)}, qualifying, std::string{d[2].c_str()});
    if (next != current)
      publish(tx, "loyalty_tier_changed",
              json{{"customer_id", customer_id}, {"old_tier", ly::to_string(current)}, {"new_tier", ly::to_string(next)},
                   {"reason", "tier_review"}},
              customer_id);
  }
  return static_cast<int64_t>(due.size());
}

// ---- store credit ---------------------------------------------------------------------------

namespace {

struct credit_account {
  money::cents balance = 0;
  std::string currency;
};

// Locks (creating if needed) the store-credit row of a live profile.
std::optional<credit_account> lock_credit(pqxx::work& tx, const std::string& customer_id) {
  if (!lock_profile(tx, customer_id)) return std::nullopt;
  tx.exec_params("INSERT INTO customers.store_credit (customer_id, currency) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                 customer_id, std::string{store_currency});
  auto r = tx.exec_params("SELECT balance::text, currency FROM customers.store_credit WHERE customer_id = $1 FOR UPDATE",
                          customer_id);
  return credit_account{cents_of(r[0][0]), r[0][1].c_str()};
}

std::string insert_credit(pqxx::work& tx, const std::string& customer_id, const char* type, money::cents amount,
                          money::cents balance_after, const opt_text& reference, const opt_text& order_id,
                          const opt_text& reason, const opt_text& created_by) {
  std::string id = uuid_v4();
  tx.exec_params(
      "INSERT INTO customers.store_credit_transactions (transaction_id, customer_id, type, amount, balance_after, "
      "reference, order_id, reason, created_by) VALUES ($1::uuid, $2, $3, $4::numeric, $5::numeric, $6, $7, $8, $9)",
      id, customer_id, std::string{type}, money::format(amount), money::format(balance_after), reference, order_id,
      reason, created_by);
  tx.exec_params("UPDATE customers.store_credit SET balance = $2::numeric, updated_at = now() WHERE customer_id = $1",
                 customer_id, money::format(balance_after));
  return id;
}

std::optional<std::pair<std::string, money::cents>> credit_row(pqxx::work& tx, const char* type,
                                                               const std::string& reference) {
  auto r = tx.exec_params("SELECT customer_id, amount::text FROM customers.store_credit_transactions "
                          "WHERE type = $1 AND reference = $2",
                          std::string{type}, reference);
  if (r.empty()) return std::nullopt;
  return std::make_pair(std::string{r[0][0].c_str()}, cents_of(r[0][1]));
}

}  // namespace

result<json> store_credit(pqxx::work& tx, const std::string& customer_id) {
  using R = result<json>;
  if (!load_profile(tx, customer_id))
    return R::fail(failure_kind::not_found, "customer_not_found", not_found_text(customer_id));
  auto acc = tx.exec_params("SELECT balance::text, currency FROM customers.store_credit WHERE customer_id = $1",
                            customer_id);
  auto rows = tx.exec_params(
      "SELECT transaction_id::text, type, amount::text, balance_after::text, reference, order_id, reason, "
      "created_by, " + iso_sql("created_at") +
          " FROM customers.store_credit_transactions WHERE customer_id = $1 "
          "ORDER BY created_at DESC, transaction_id LIMIT 50",
      customer_id);
  json list = json::array();
  auto text = [](const pqxx::field& f) { return f.is_null() ? json(nullptr) : json(f.c_str()); };
  for (const auto& r : rows)
    list.push_back(json{{"transaction_id", r[0].c_str()}, {"type", r[1].c_str()},
                        {"amount", money::to_json(cents_of(r[2]))}, {"balance_after", money::to_json(cents_of(r[3]))},
                        {"reference", text(r[4])}, {"order_id", text(r[5])}, {"reason", text(r[6])},
                        {"created_by", text(r[7])}, {"created_at", r[8].c_str()}});
  return R::of(json{{"customer_id", customer_id},
                    {"balance", money::to_json(acc.empty() ? 0 : cents_of(acc[0][0]))},
                    {"currency", acc.empty() ? std::string{store_currency} : std::string{acc[0][1].c_str()}},
                    {"transactions", std::move(list)}});
}

result<credit_result> add_credit(pqxx::work& tx, const add_store_credit& m) {
  using R = result<credit_result>;
  if (m.amount <= 0) return R::fail(failure_kind::invalid, "invalid_amount", "Amount must be greater than 0");
  if (m.reference.empty()) return R::fail(failure_kind::invalid, "invalid_reference", "A reference is required");
  auto acc = lock_credit(tx, m.customer_id);
  if (!acc) return R::fail(failure_kind::not_found, "customer_not_found", not_found_text(m.customer_id));
  if (!m.currency.empty() && m.currency != acc->currency)
    return R::fail(failure_kind::invalid, "currency_mismatch",
                   fmt::format("Store credit is kept in {}, not {}", acc->currency, m.currency));
  if (auto prior = credit_row(tx, "credit", m.reference)) return R::of(credit_result{prior->second, acc->balance});
  money::cents balance = acc->balance + m.amount;
  if (balance > money::max_amount) return R::fail(failure_kind::invalid, "invalid_amount", "Amount too large");
  insert_credit(tx, m.customer_id, "credit", m.amount, balance, m.reference, std::nullopt, std::string{"credit"},
                std::nullopt);
  return R::of(credit_result{m.amount, balance});
}

result<credit_result> redeem_credit(pqxx::work& tx, const redeem_store_credit& m) {
  using R = result<credit_result>;
  if (m.amount <= 0) return R::fail(failure_kind::invalid, "invalid_amount", "Amount must be greater than 0");
  if (m.order_id.empty()) return R::fail(failure_kind::invalid, "invalid_order", "order_id is required");
  auto acc = lock_credit(tx, m.customer_id);
  if (!acc) return R::fail(failure_kind::not_found, "customer_not_found", not_found_text(m.customer_id));
  const std::string reference = "order:" + m.order_id;
  if (auto prior = credit_row(tx, "redeem", reference)) return R::of(credit_result{-prior->second, acc->balance});
  if (m.amount > acc->balance)
    return R::fail(failure_kind::invalid, "insufficient_credit",
                   fmt::format("Insufficient store credit: requested {}, available {}", money::format(m.amount),
                               money::format(acc->balance)),
                   json{{"balance", money::to_json(acc->balance)}}.dump());
  money::cents balance = acc->balance - m.amount;
  insert_credit(tx, m.customer_id, "redeem", -m.amount, balance, reference, m.order_id, std::string{"order"},
                std::nullopt);
  return R::of(credit_result{m.amount, balance});
}

result<credit_result> restore_credit(pqxx::work& tx, const restore_store_credit& m) {
  using R = result<credit_result>;
  const std::string reference = "order:" + m.order_id;
  auto redeemed = credit_row(tx, "redeem", reference);
  if (!redeemed) return R::of(credit_result{0, 0});  // nothing taken: nothing to give back
  auto acc = lock_credit(tx, redeemed->first);
  if (!acc) return R::of(credit_result{0, 0});
  if (credit_row(tx, "restore", reference)) return R::of(credit_result{0, acc->balance});
  money::cents amount = -redeemed->second;
  money::cents balance = acc->balance + amount;
  insert_credit(tx, redeemed->first, "restore", amount, balance, reference, m.order_id, std::string{"order cancelled"},
                std::nullopt);
  return R::of(credit_result{amount, balance});
}

result<json> adjust_credit(pqxx::work& tx, const std::string& customer_id, money::cents amount,
                           const std::string& reason, const std::string& adjusted_by) {
  using R = result<json>;
  auto acc = lock_credit(tx, customer_id);
  if (!acc) return R::fail(failure_kind::not_found, "customer_not_found", not_found_text(customer_id));
  money::cents balance = acc->balance + amount;
  if (balance < 0)
    return R::fail(failure_kind::conflict, "negative_balance", "Adjustment would make the balance negative");
  if (balance > money::max_amount) return R::fail(failure_kind::invalid, "invalid_amount", "Amount too large");
  insert_credit(tx, customer_id, "adjustment", amount, balance, std::nullopt, std::nullopt, reason, adjusted_by);
  return R::of(json{{"customer_id", customer_id}, {"balance", money::to_json(balance)}, {"currency", acc->currency}});
}

// ---- order events ---------------------------------------------------------------------------

namespace {

money::cents amount_field(const json& p, const char* key, money::cents fallback = 0) {
  auto it = p.find(key);
  if (it == p.end() || it->is_null()) return fallback;
  return money::from_json(*it).value_or(fallback);
}

bool has_amount(const json& p, const char* key) {
  auto it = p.find(key);
  return it != p.end() && !it->is_null() && money::from_json(*it).has_value();
}

struct order_row {
  std::string customer_id;
  bool open = true, confirmed = false, cancelled = false;
  money::cents total = 0;
  std::optional<money::cents> eligible;
  int64_t earned = 0, reversed = 0;
  money::cents refunded = 0;
  bool delivered = false;
};

order_row lock_order(pqxx::work& tx, const std::string& order_id, const std::string& customer_id, money::cents total) {
  // One round trip for the usual case (a new row, or one that was committed before this
  // statement began); a row committed by a concurrent insert meanwhile is invisible to the
  // statement's snapshot, so it is then read and locked on its own.
  static const std::string columns =
      "customer_id, open, confirmed, cancelled, total_amount::text, eligible_amount::text, points_earned, "
      "points_reversed, eligible_refunded::text, delivered_at IS NOT NULL";
  auto rows = db::exec_hot(tx,
      "WITH ins AS (INSERT INTO customers.customer_orders (order_id, customer_id, total_amount) "
      "VALUES ($1, $2, $3::numeric) ON CONFLICT (order_id) DO NOTHING RETURNING " + columns + "), "
      "old AS (SELECT " + columns + " FROM customers.customer_orders WHERE order_id = $1 FOR UPDATE) "
      "SELECT * FROM ins UNION ALL SELECT * FROM old",
      order_id, customer_id, money::format(total));
  if (rows.empty())
    rows = db::exec_hot(tx, "SELECT " + columns + " FROM customers.customer_orders WHERE order_id = $1 FOR UPDATE",
                        order_id);
  const pqxx::row r = rows.at(0);
  order_row o;
  o.customer_id = r[0].c_str();
  o.open = r[1].as<bool>();
  o.confirmed = r[2].as<bool>();
  o.cancelled = r[3].as<bool>();
  o.total = cents_of(r[4]);
  if (!r[5].is_null()) o.eligible = cents_of(r[5]);
  o.earned = r[6].as<int64_t>();
  o.reversed = r[7].as<int64_t>();
  o.refunded = cents_of(r[8]);
  o.delivered = r[9].as<bool>();
  return o;
}

void earn_for_delivery(pqxx::work& tx, const std::string& order_id, order_row& o, const json& p) {
  tx.exec_params("UPDATE customers.customer_orders SET open = false, delivered_at = coalesce(delivered_at, now()), "
                 "updated_at = now() WHERE order_id = $1",
                 order_id);
  if (o.delivered || o.earned > 0) return;  // one earning per order
  money::cents eligible;
  if (has_amount(p, "eligible_amount"))
    eligible = amount_field(p, "eligible_amount");
  else if (has_amount(p, "subtotal"))
    eligible = amount_field(p, "subtotal") - amount_field(p, "discount_amount");
  else
    return;  // nothing says what the merchandise was worth: no points rather than wrong points
  eligible = std::max<money::cents>(0, eligible);
  tx.exec_params("UPDATE customers.customer_orders SET eligible_amount = $2::numeric WHERE order_id = $1", order_id,
                 money::format(eligible));
  auto a = lock_account(tx, o.customer_id);
  if (!a) return;
  int64_t points = ly::points_for(eligible, a->tier);  // the tier at delivery time
  if (points > 0 && !ledger_exists(tx, "earn", "order", order_id)) {
    ledger_row l;
    l.type = "earn";
    l.amount = points;
    l.balance_after = a->balance + points;
    l.remaining = points;
    l.reference_type = "order";
    l.reference_id = order_id;
    l.description = fmt::format("Earned on order {} ({} × {})", order_id, money::format(eligible),
                                ly::multiplier_e3(a->tier) / 1000.0);
    l.expires_at = tx.exec("SELECT (now() + interval '365 days')::text")[0][0].c_str();
    insert_ledger(tx, o.customer_id, l);
    set_points(tx, o.customer_id, l.balance_after, points);
    tx.exec_params("UPDATE customers.customer_orders SET points_earned = $2 WHERE order_id = $1", order_id, points);
    points_changed(tx, o.customer_id, points, l.balance_after, "earn", order_id);
    upgrade_if_reached(tx, *a, requalify(tx, o.customer_id));
  }
  // Referral bonus: the referrer earns once, when the referred customer's first order is delivered.
  auto ref = tx.exec_params(
      "SELECT referred_by FROM customers.customer_profiles WHERE customer_id = $1 AND referred_by IS NOT NULL",
      o.customer_id);
  if (ref.empty() || ledger_exists(tx, "bonus", "referral", o.customer_id)) return;
  const std::string referrer = ref[0][0].c_str();
  auto r = lock_account(tx, referrer);
  if (!r) return;
  ledger_row b;
  b.type = "bonus";
  b.amount = ly::referral_bonus;
  b.balance_after = r->balance + ly::referral_bonus;
  b.remaining = ly::referral_bonus;
  b.reference_type = "referral";
  b.reference_id = o.customer_id;
  b.description = fmt::format("Referral bonus for {}", o.customer_id);
  b.expires_at = tx.exec("SELECT (now() + interval '365 days')::text")[0][0].c_str();
  insert_ledger(tx, referrer, b);
  set_points(tx, referrer, b.balance_after, ly::referral_bonus);
  points_changed(tx, referrer, ly::referral_bonus, b.balance_after, "referral_bonus", o.customer_id);
  upgrade_if_reached(tx, *r, requalify(tx, referrer));
}

void reverse_for_refund(pqxx::work& tx, const event& e, const std::string& order_id, order_row& o, const json& p) {
  money::cents refunded_amount = amount_field(p, "refunded_amount");
  money::cents eligible_refunded =
      has_amount(p, "eligible_refunded_amount") ? amount_field(p, "eligible_refunded_amount") : refunded_amount;
  money::cents cumulative = o.refunded + std::max<money::cents>(0, eligible_refunded);
  tx.exec_params("UPDATE customers.customer_orders SET eligible_refunded = $2::numeric, updated_at = now() "
                 "WHERE order_id = $1",
                 order_id, money::format(std::min(cumulative, money::max_amount)));
  if (!o.cancelled && refunded_amount > 0)
    tx.exec_params("UPDATE customers.customer_profiles SET total_spent = greatest(0, total_spent - $2::numeric), "
                   "updated_at = now() WHERE customer_id = $1",
                   o.customer_id, money::format(refunded_amount));
  int64_t due = ly::points_to_reverse(o.earned, o.eligible.value_or(0), cumulative, o.reversed);
  if (due <= 0) return;
  auto a = lock_account(tx, o.customer_id);
  if (!a) return;
  int64_t taken = sum_taken(consume_lots(tx, o.customer_id, std::min(due, a->balance)));
  ledger_row l;
  l.type = "reverse";
  l.amount = -taken;
  l.balance_after = a->balance - taken;
  l.reference_type = "refund";
  l.reference_id = e.event_id;
  l.description = taken == due ? fmt::format("Reversed for refund of order {}", order_id)
                               : fmt::format("Reversed for refund of order {}: {} due, {} short (balance too low)",
                                             order_id, due, due - taken);
  if (taken > 0 || due > 0) insert_ledger(tx, o.customer_id, l);
  set_points(tx, o.customer_id, l.balance_after, 0);
  requalify(tx, o.customer_id);
  tx.exec_params("UPDATE customers.customer_orders SET points_reversed = points_reversed + $2 WHERE order_id = $1",
                 order_id, due);
  points_changed(tx, o.customer_id, -taken, l.balance_after, "refund", order_id);
}

constexpr const char* consumer = "customer";  // our name in customers.processed_events

std::string short_name(const event& e) {
  std::string_view name = e.name;
  if (name.rfind("order.", 0) == 0) name.remove_prefix(6);
  return std::string{name};
}

// What an order event says. Nothing is applied (beyond marking it processed) when the payload is
// not an object or names no order.
struct order_event {
  std::string name;  // without "order."
  json payload;
  std::string order_id, customer_id;

  std::string text(const char* key) const {
    auto it = payload.find(key);
    return it != payload.end() && it->is_string() ? it->get<std::string>() : std::string{};
  }
};

order_event read_order_event(const event& e) {
  order_event ev{short_name(e), json::parse(e.payload, nullptr, false), {}, {}};
  if (!ev.payload.is_object()) return ev;
  ev.order_id = ev.text("order_id");
  ev.customer_id = ev.text("customer_id");
  return ev;
}

// A run of placement events (applies_in_one_statement) as one jsonb array of documents
// {event_id, name, order_id (null: nothing to apply), customer_id, total (text or null)}, read
// here from the payloads as the single-event code read them: order_created's total defaults to 0,
// order_confirmed's is null when the event has none (the row's total then counts).
std::string placement_documents(const std::vector<event>& events) {
  json docs = json::array();
  for (const auto& e : events) {
    if (!applies_in_one_statement(e)) throw std::logic_error("order event " + e.name + " needs a transaction");
    const order_event ev = read_order_event(e);
    json d{{"event_id", e.event_id}, {"name", ev.name}, {"order_id", nullptr}, {"customer_id", ev.customer_id},
           {"total", nullptr}};
    if (!ev.order_id.empty()) d["order_id"] = ev.order_id;
    if (ev.name == "order_created")
      d["total"] = money::format(amount_field(ev.payload, "total_amount"));
    else if (has_amount(ev.payload, "total_amount"))
      d["total"] = money::format(amount_field(ev.payload, "total_amount"));
    docs.push_back(std::move(d));
  }
  return docs.dump();
}

// The statement of a run of placement events ($1 the documents, $2 our consumer name):
//   ev      the documents in order (ordinality n), one per event id (a copy later in the run is a
//           duplicate delivery);
//   done    db::mark_processed for all of them at once (insert … ON CONFLICT DO NOTHING RETURNING):
//           the first deliveries; only those act below;
//   orders  the first deliveries folded per order (an upsert may not touch a row twice): the first
//           event's customer and total for a new row, whether any confirms it, the first
//           confirmation's total;
//   o       the projection's rows: a new order inserted (confirmed if confirmed), an existing one
//           confirmed unless it is confirmed or cancelled already, with the first confirmation's
//           total, else its own; returns the rows inserted or confirmed;
//   counted the orders that became confirmed, per customer (an UPDATE … FROM applies one source
//           row per target row, so two orders of one customer must be one row: count, sum);
//   stats   the customers' stats.
// The same effects as applying the events one after the other.
const std::string placement_statement =
    "WITH ev AS (SELECT DISTINCT ON (1) (d->>'event_id')::uuid AS event_id, n, d->>'name' AS name, "
    "d->>'order_id' AS order_id, d->>'customer_id' AS customer_id, (d->>'total')::numeric AS total "
    "FROM mercato.batch_items($1::jsonb) AS a(d, n) ORDER BY 1, n), "
    "done AS (INSERT INTO customers.processed_events (event_id, consumer) SELECT event_id, $2::text FROM ev "
    "ON CONFLICT DO NOTHING RETURNING event_id), "
    "orders AS (SELECT ev.order_id, (array_agg(ev.customer_id ORDER BY ev.n))[1] AS customer_id, "
    "(array_agg(ev.total ORDER BY ev.n))[1] AS first_total, bool_or(ev.name = 'order_confirmed') AS confirmed, "
    "(array_agg(ev.total ORDER BY ev.n) FILTER (WHERE ev.name = 'order_confirmed'))[1] AS confirmed_total "
    "FROM ev JOIN done USING (event_id) WHERE ev.order_id IS NOT NULL GROUP BY ev.order_id), "
    "o AS (INSERT INTO customers.customer_orders AS c (order_id, customer_id, total_amount, confirmed) "
    "SELECT order_id, customer_id, coalesce(confirmed_total, first_total, 0), confirmed FROM orders "
    "ON CONFLICT (order_id) DO UPDATE SET confirmed = true, total_amount = coalesce("
    "(SELECT r.confirmed_total FROM orders r WHERE r.order_id = excluded.order_id), c.total_amount), "
    "updated_at = now() WHERE excluded.confirmed AND NOT c.confirmed AND NOT c.cancelled "
    "RETURNING c.customer_id, c.total_amount, c.confirmed), "
    "counted AS (SELECT customer_id, count(*) AS orders, sum(total_amount) AS spent FROM o WHERE confirmed "
    "GROUP BY customer_id), "
    "stats AS (UPDATE customers.customer_profiles p SET total_orders = p.total_orders + counted.orders, "
    "total_spent = p.total_spent + counted.spent, "
    "last_order_at = greatest(coalesce(p.last_order_at, now()), now()), updated_at = now() "
    "FROM counted WHERE p.customer_id = counted.customer_id) "
    "SELECT count(*) FROM done";

}  // namespace

bool applies_in_one_statement(const event& e) {
  const std::string name = short_name(e);
  return name == "order_created" || name == "order_confirmed";
}

int64_t apply_in_one_statement(pqxx::transaction_base& tx, const std::vector<event>& events) {
  if (events.empty()) return 0;
  return db::exec_hot1(tx, placement_statement, placement_documents(events), consumer)[0].as<int64_t>();
}

bool apply_order_event(pqxx::nontransaction& tx, const event& e) {
  return apply_in_one_statement(tx, std::vector<event>{e}) == 1;
}

bool apply_order_event(pqxx::work& tx, const event& e) {
  if (applies_in_one_statement(e)) return apply_in_one_statement(tx, std::vector<event>{e}) == 1;
  if (!db::mark_processed(tx, "customers", e.event_id, consumer)) return false;
  const order_event ev = read_order_event(e);
  if (ev.order_id.empty()) return true;
  const json& p = ev.payload;
  const std::string& order_id = ev.order_id;
  const std::string& name = ev.name;
  order_row o = lock_order(tx, order_id, ev.customer_id, amount_field(p, "total_amount"));
  if (name == "order_cancelled") {
    if (!o.cancelled) {
      tx.exec_params("UPDATE customers.customer_orders SET open = false, cancelled = true, updated_at = now() "
                     "WHERE order_id = $1",
                     order_id);
      if (o.confirmed)
        tx.exec_params(
            "UPDATE customers.customer_profiles SET total_orders = greatest(0, total_orders - 1), "
            "total_spent = greatest(0, total_spent - $2::numeric), updated_at = now() WHERE customer_id = $1",
            o.customer_id, money::format(o.total));
    }
  } else if (name == "order_delivered") {
    earn_for_delivery(tx, order_id, o, p);
  } else if (name == "order_refunded") {
    reverse_for_refund(tx, e, order_id, o, p);
  } else if (name == "order_failed") {
    tx.exec_params("UPDATE customers.customer_orders SET open = false, updated_at = now() WHERE order_id = $1",
                   order_id);
  } else if (name == "order_status_updated") {
    if (loyalty::closed_order_status(ev.text("new_status")))
      tx.exec_params("UPDATE customers.customer_orders SET open = false, updated_at = now() WHERE order_id = $1",
                     order_id);
  }
  return true;
}

outbox_stats_reply outbox_statistics(pqxx::work& tx) {
  const auto b = db::outbox{"customers"}.read_backlog(tx);
  return outbox_stats_reply{b.pending, b.oldest_age_seconds, b.failed};
}

}  // namespace mercato::customer::store
