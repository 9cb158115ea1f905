// SQL of the payments schema (see payment_store.hpp).
#include "payment/payment_store.hpp"

#include <pqxx/pqxx>

#include "db/hot_statement.hpp"

namespace mercato::payment {
namespace {

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

std::string text(const pqxx::field& f) { return f.is_null() ? std::string{} : std::string{f.c_str()}; }
money::cents cents(const pqxx::field& f) {
  if (f.is_null()) return 0;
  return money::parse_decimal(f.c_str()).value_or(0);
}
int integer(const pqxx::field& f, int fallback = 0) { return f.is_null() ? fallback : f.as<int>(); }
bool boolean(const pqxx::field& f) { return !f.is_null() && f.as<bool>(); }

// ---- gateways
const char* gateway_cols =
    "gateway_id, gateway_name, gateway_type, adapter, is_active, is_test_mode,"
    " array_to_string(supported_currencies, ','), (transaction_fee_percent * 100)::bigint,"
    " transaction_fee_fixed, min_transaction_amount, max_transaction_amount, " TS("created_at") ", " TS("updated_at");

gateway_row read_gateway(const pqxx::row& r) {
  gateway_row g;
  g.gateway_id = r[0].as<int>();
  g.gateway_name = text(r[1]);
  g.gateway_type = text(r[2]);
  g.adapter = text(r[3]);
  g.is_active = boolean(r[4]);
  g.is_test_mode = boolean(r[5]);
  std::string list = text(r[6]);
  size_t pos = 0;
  while (!list.empty() && pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    g.currencies.push_back(list.substr(pos, comma - pos));
    pos = comma + 1;
  }
  g.fee_percent_e2 = r[7].as<int64_t>();
  g.fee_fixed = cents(r[8]);
  g.min_amount = cents(r[9]);
  g.max_amount = cents(r[10]);
  g.created_at = text(r[11]);
  g.updated_at = text(r[12]);
  return g;
}

// ---- methods
const char* method_cols =
    "method_id::text, customer_id, gateway_id, method_type, card_brand, card_last_four,"
    " card_expiry_month, card_expiry_year, card_holder_name, card_fingerprint, gateway_token,"
    " gateway_customer_id, is_default, is_verified, " TS("created_at") ", " TS("updated_at");

method_row read_method(const pqxx::row& r) {
  method_row m;
  m.method_id = text(r[0]);
  m.customer_id = text(r[1]);
  m.gateway_id = r[2].as<int>();
  m.method_type = text(r[3]);
  m.card_brand = text(r[4]);
  m.card_last_four = text(r[5]);
  m.expiry_month = integer(r[6]);
  m.expiry_year = integer(r[7]);
  m.holder_name = text(r[8]);
  m.fingerprint = text(r[9]);
  m.gateway_token = text(r[10]);
  m.gateway_customer_id = text(r[11]);
  m.is_default = boolean(r[12]);
  m.is_verified = boolean(r[13]);
  m.created_at = text(r[14]);
  m.updated_at = text(r[15]);
  return m;
}

// ---- payments
const char* payment_cols =
    "payment_id::text, order_id, customer_id, gateway_id, method_id::text, instrument_token,"
    " currency, status, amount, authorized_amount, captured_amount, refunded_amount, fee_amount,"
    " authorization_code, gateway_reference, risk_score, risk_level, source, " TS("expires_at") ","
    " " TS("authorized_at") ", capture_final, coalesce(expires_at < now(), false), version,"
    " " TS("created_at") ", " TS("updated_at");
constexpr pqxx::row::size_type payment_col_count = 25;  // read_payment's columns

payment_row read_payment(const pqxx::row& r) {
  payment_row p;
  p.payment_id = text(r[0]);
  p.order_id = text(r[1]);
  p.customer_id = text(r[2]);
  p.gateway_id = r[3].as<int>();
  p.method_id = text(r[4]);
  p.instrument_token = text(r[5]);
  p.currency = text(r[6]);
  p.status = text(r[7]);
  p.amount = cents(r[8]);
  p.authorized = cents(r[9]);
  p.captured = cents(r[10]);
  p.refunded = cents(r[11]);
  p.fee = cents(r[12]);
  p.authorization_code = text(r[13]);
  p.gateway_reference = text(r[14]);
  p.risk_score = integer(r[15], -1);
  p.risk_level = text(r[16]);
  p.source = text(r[17]);
  p.expires_at = text(r[18]);
  p.authorized_at = text(r[19]);
  p.capture_final = boolean(r[20]);
  p.expired = boolean(r[21]);
  p.version = integer(r[22]);
  p.created_at = text(r[23]);
  p.updated_at = text(r[24]);
  return p;
}

// ---- transactions
const char* transaction_cols =
    "transaction_id::text, payment_id::text, order_id, customer_id, gateway_id,"
    " payment_method_id::text, transaction_type, transaction_status, amount, fee_amount,"
    " net_amount, capture_final, gateway_transaction_id, authorization_code, error_code,"
    " error_message, idempotency_key, risk_score, risk_level, " TS("initiated_at") ","
    " " TS("completed_at") ", " TS("created_at") ", " TS("updated_at") ", currency";

transaction_row read_transaction(const pqxx::row& r) {
  transaction_row t;
  t.transaction_id = text(r[0]);
  t.payment_id = text(r[1]);
  t.order_id = text(r[2]);
  t.customer_id = text(r[3]);
  t.gateway_id = r[4].as<int>();
  t.payment_method_id = text(r[5]);
  t.type = text(r[6]);
  t.status = text(r[7]);
  t.amount = cents(r[8]);
  t.fee = cents(r[9]);
  t.net = cents(r[10]);
  t.capture_final = boolean(r[11]);
  t.gateway_transaction_id = text(r[12]);
  t.authorization_code = text(r[13]);
  t.error_code = text(r[14]);
  t.error_message = text(r[15]);
  t.idempotency_key = text(r[16]);
  t.risk_score = integer(r[17], -1);
  t.risk_level = text(r[18]);
  t.initiated_at = text(r[19]);
  t.completed_at = text(r[20]);
  t.created_at = text(r[21]);
  t.updated_at = text(r[22]);
  t.currency = text(r[23]);
  return t;
}

// ---- refunds
const char* refund_cols =
    "refund_id::text, transaction_id::text, payment_id::text, order_id, customer_id, refund_type,"
    " refund_reason, refund_amount, currency, refund_status, gateway_refund_id, error_code,"
    " error_message, notes, requested_by, " TS("requested_at") ", " TS("completed_at") ","
    " " TS("created_at") ", " TS("updated_at");

refund_row read_refund(const pqxx::row& r) {
  refund_row f;
  f.refund_id = text(r[0]);
  f.transaction_id = text(r[1]);
  f.payment_id = text(r[2]);
  f.order_id = text(r[3]);
  f.customer_id = text(r[4]);
  f.refund_type = text(r[5]);
  f.refund_reason = text(r[6]);
  f.amount = cents(r[7]);
  f.currency = text(r[8]);
  f.status = text(r[9]);
  f.gateway_refund_id = text(r[10]);
  f.error_code = text(r[11]);
  f.error_message = text(r[12]);
  f.notes = text(r[13]);
  f.requested_by = text(r[14]);
  f.requested_at = text(r[15]);
  f.completed_at = text(r[16]);
  f.created_at = text(r[17]);
  f.updated_at = text(r[18]);
  return f;
}

std::string cat(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (auto p : parts) s.append(p);
  return s;
}

std::string risk_text(int score) { return score < 0 ? std::string{} : std::to_string(score); }

}  // namespace

std::vector<gateway_row> load_gateways(tx_t& tx) {
  std::vector<gateway_row> out;
  for (const auto& r : tx.exec(cat({"SELECT ", gateway_cols, " FROM payments.payment_gateways ORDER BY gateway_id"})))
    out.push_back(read_gateway(r));
  return out;
}

std::optional<method_row> find_method(tx_t& tx, const std::string& method_id) {
  auto r = db::exec_hot(tx, cat({"SELECT ", method_cols, " FROM payments.payment_methods"
                               " WHERE method_id = $1::uuid AND deleted_at IS NULL"}),
                          method_id);
  if (r.empty()) return std::nullopt;
  return read_method(r[0]);
}

std::optional<method_row> default_method(tx_t& tx, const std::string& customer_id) {
  auto r = db::exec_hot(tx, cat({"SELECT ", method_cols, " FROM payments.payment_methods"
                               " WHERE customer_id = $1 AND is_default AND deleted_at IS NULL"}),
                          customer_id);
  if (r.empty()) return std::nullopt;
  return read_method(r[0]);
}

std::vector<method_row> list_methods(tx_t& tx, const std::string& customer_id) {
  std::vector<method_row> out;
  for (const auto& r :
       db::exec_hot(tx, cat({"SELECT ", method_cols, " FROM payments.payment_methods"
                           " WHERE customer_id = $1 AND deleted_at IS NULL"
                           " ORDER BY is_default DESC, created_at, method_id"}),
                      customer_id))
    out.push_back(read_method(r));
  return out;
}

method_row insert_method(tx_t& tx, const method_row& m, bool make_default) {
  // Lock the customer's methods so two concurrent "default" inserts serialise.
  auto current = db::exec_hot(tx,
      "SELECT method_id FROM payments.payment_methods WHERE customer_id = $1 AND is_default"
      " AND deleted_at IS NULL FOR UPDATE",
      m.customer_id);
  bool becomes_default = make_default || current.empty();
  if (becomes_default && !current.empty())
    db::exec_hot(tx, "UPDATE payments.payment_methods SET is_default = false, updated_at = now()"
                   " WHERE customer_id = $1 AND is_default AND deleted_at IS NULL",
                   m.customer_id);
  auto r = db::exec_hot(tx,
      cat({"INSERT INTO payments.payment_methods (method_id, customer_id, gateway_id, method_type,"
           " card_brand, card_last_four, card_expiry_month, card_expiry_year, card_holder_name,"
           " card_fingerprint, gateway_token, gateway_customer_id, is_default, is_verified)"
           " VALUES ($1::uuid, $2, $3, $4, NULLIF($5, ''), NULLIF($6, ''), NULLIF($7, 0),"
           " NULLIF($8, 0), NULLIF($9, ''), NULLIF($10, ''), $11, NULLIF($12, ''), $13, $14)"
           " RETURNING ", method_cols}),
      m.method_id, m.customer_id, m.gateway_id, m.method_type, m.card_brand, m.card_last_four,
      m.expiry_month, m.expiry_year, m.holder_name, m.fingerprint, m.gateway_token,
      m.gateway_customer_id, becomes_default, m.is_verified);
  db::exec_hot(tx, "INSERT INTO payments.payment_method_changes (customer_id, method_id, change)"
                 " VALUES ($1, $2::uuid, 'added')",
                 m.customer_id, m.method_id);
  return read_method(r[0]);
}

bool delete_method(tx_t& tx, const std::string& method_id) {
  auto r = db::exec_hot(tx,
      "UPDATE payments.payment_methods SET deleted_at = now(), is_default = false,"
      " updated_at = now() WHERE method_id = $1::uuid AND deleted_at IS NULL"
      " RETURNING customer_id, (SELECT is_default FROM payments.payment_methods WHERE method_id = $1::uuid)",
      method_id);
  if (r.empty()) return false;
  std::string customer = text(r[0][0]);
  bool was_default = boolean(r[0][1]);
  db::exec_hot(tx, "INSERT INTO payments.payment_method_changes (customer_id, method_id, change)"
                 " VALUES ($1, $2::uuid, 'removed')",
                 customer, method_id);
  if (was_default)
    db::exec_hot(tx,
        "UPDATE payments.payment_methods SET is_default = true, updated_at = now()"
        " WHERE method_id = (SELECT method_id FROM payments.payment_methods WHERE customer_id = $1"
        " AND deleted_at IS NULL ORDER BY created_at DESC, method_id DESC LIMIT 1)",
        customer);
  return true;
}

std::optional<method_row> set_default_method(tx_t& tx, const std::string& method_id) {
  auto m = find_method(tx, method_id);
  if (!m) return std::nullopt;
  db::exec_hot(tx, "SELECT 1 FROM payments.payment_methods WHERE customer_id = $1 AND deleted_at IS NULL FOR UPDATE",
                 m->customer_id);
  db::exec_hot(tx, "UPDATE payments.payment_methods SET is_default = false, updated_at = now()"
                 " WHERE customer_id = $1 AND is_default AND method_id <> $2::uuid",
                 m->customer_id, method_id);
  db::exec_hot(tx, "UPDATE payments.payment_methods SET is_default = true, updated_at = now()"
                 " WHERE method_id = $1::uuid",
                 method_id);
  return find_method(tx, method_id);
}

int64_t method_changes_since(tx_t& tx, const std::string& customer_id, int64_t days) {
  return db::exec_hot1(tx, "SELECT count(*) FROM payments.payment_method_changes WHERE customer_id = $1"
                         " AND at >= now() - make_interval(days => $2)",
                         customer_id, static_cast<int>(days))[0]
      .as<int64_t>();
}

std::optional<payment_row> get_payment(tx_t& tx, const std::string& payment_id, bool lock) {
  auto r = db::exec_hot(tx, cat({"SELECT ", payment_cols, " FROM payments.payments WHERE payment_id = $1::uuid",
                               lock ? " FOR UPDATE" : ""}),
                          payment_id);
  if (r.empty()) return std::nullopt;
  return read_payment(r[0]);
}

std::optional<payment_row> live_payment_for_order(tx_t& tx, const std::string& order_id, bool lock) {
  auto r = db::exec_hot(tx,
      cat({"SELECT ", payment_cols, " FROM payments.payments WHERE order_id = $1 AND status IN"
           " ('pending', 'authorized', 'partially_captured', 'captured', 'partially_refunded')",
           lock ? " FOR UPDATE" : ""}),
      order_id);
  if (r.empty()) return std::nullopt;
  return read_payment(r[0]);
}

std::optional<payment_row> latest_payment_for_order(tx_t& tx, const std::string& order_id) {
  auto r = db::exec_hot(tx, cat({"SELECT ", payment_cols, " FROM payments.payments WHERE order_id = $1"
                               " ORDER BY created_at DESC, payment_id LIMIT 1"}),
                          order_id);
  if (r.empty()) return std::nullopt;
  return read_payment(r[0]);
}

std::optional<payment_row> payment_by_reference(tx_t& tx, int gateway_id, const std::string& reference) {
  auto r = tx.exec_params(cat({"SELECT ", payment_cols, " FROM payments.payments WHERE gateway_id = $1"
                               " AND gateway_reference = $2 ORDER BY created_at DESC LIMIT 1 FOR UPDATE"}),
                          gateway_id, reference);
  if (r.empty()) return std::nullopt;
  return read_payment(r[0]);
}

std::vector<payment_row> list_payments(tx_t& tx, const payment_filter& f) {
  std::vector<payment_row> out;
  for (const auto& r : db::exec_hot(tx,
           cat({"SELECT ", payment_cols, " FROM payments.payments WHERE ($1 = '' OR order_id = $1)"
                " AND ($2 = '' OR customer_id = $2) AND ($3 = '' OR status = $3)"
                " ORDER BY created_at DESC, payment_id OFFSET $4 LIMIT $5"}),
           f.order_id, f.customer_id, f.status, f.skip, f.limit))
    out.push_back(read_payment(r));
  return out;
}

staging insert_payment_with_transaction(tx_t& tx, const payment_row& p, const transaction_row& t,
                                       bool find_earlier) {
  // One statement: the payment (skipped when the order has a live one, or when `earlier` finds an
  // authorization of the order under the same key) and its first transaction. `earlier` is the
  // key look-up of authorization_by_key: a repeated key must find the earlier attempt even when
  // its payment failed, which no unique index would report as a conflict.
  static const std::string sql = cat({
      "WITH earlier AS MATERIALIZED (SELECT ", transaction_cols, " FROM payments.payment_transactions"
      " WHERE $16 AND $2 <> '' AND idempotency_key = $15 AND order_id = $2"
      "  AND transaction_type IN ('authorize', 'sale') ORDER BY created_at DESC LIMIT 1),"
      " p AS ("
      " INSERT INTO payments.payments (payment_id, order_id, customer_id, gateway_id, method_id,"
      "  instrument_token, currency, status, amount, risk_score, risk_level, source)"
      " SELECT $1::uuid, NULLIF($2, ''), $3, $4::integer, NULLIF($5, '')::uuid, $6, $7, $8, $9::numeric,"
      "  NULLIF($10, '')::integer, NULLIF($11, ''), NULLIF($12, '')"
      " WHERE NOT EXISTS (SELECT 1 FROM earlier)"
      " ON CONFLICT (order_id) WHERE status IN ('pending', 'authorized', 'partially_captured',"
      "  'captured', 'partially_refunded') DO NOTHING RETURNING payment_id),"
      " t AS ("
      " INSERT INTO payments.payment_transactions (transaction_id, payment_id, order_id,"
      "  customer_id, gateway_id, payment_method_id, transaction_type, transaction_status, amount,"
      "  currency, idempotency_key, risk_score, risk_level)"
      " SELECT $13::uuid, p.payment_id, NULLIF($2, ''), $3, $4::integer, NULLIF($5, '')::uuid, $14, 'pending',"
      "  $9::numeric, $7, $15, NULLIF($10, '')::integer, NULLIF($11, '') FROM p"
      " RETURNING 1)"
      " SELECT (SELECT count(*) FROM t) > 0, earlier.* FROM (SELECT) AS one LEFT JOIN earlier ON true"});
  auto r = db::exec_hot1(tx, sql, p.payment_id, p.order_id, p.customer_id, p.gateway_id, p.method_id,
                         p.instrument_token, p.currency, p.status, money::format(p.amount),
                         risk_text(p.risk_score), p.risk_level, p.source, t.transaction_id, t.type,
                         t.idempotency_key, find_earlier);
  staging out;
  out.inserted = r[0].as<bool>();
  if (!r[1].is_null()) out.earlier = read_transaction(r.slice(1, r.size()));
  return out;
}

locked_completion lock_and_complete(tx_t& tx, const transaction_row& t) {
  // The payment is locked first (the EXISTS makes the UPDATE wait for `p`), the lock order of
  // every operation. A concurrent apply of the same transaction that committed while this one
  // waited for the lock leaves it no longer pending: the guarded UPDATE then changes nothing.
  static const std::string sql = cat({
      "WITH p AS MATERIALIZED (SELECT ", payment_cols, " FROM payments.payments"
      " WHERE payment_id = $1::uuid FOR UPDATE),"
      " t AS (UPDATE payments.payment_transactions SET transaction_status = $3,"
      "  fee_amount = $4::numeric, net_amount = $5::numeric, gateway_transaction_id = NULLIF($6, ''),"
      "  authorization_code = NULLIF($7, ''), error_code = NULLIF($8, ''),"
      "  error_message = NULLIF($9, ''), completed_at = now(), updated_at = now()"
      "  WHERE transaction_id = $2::uuid AND transaction_status IN ('pending', 'processing')"
      "  AND EXISTS (SELECT 1 FROM p) RETURNING ", transaction_cols, ")"
      " SELECT p.*, t.* FROM p LEFT JOIN t ON true"});
  auto r = db::exec_hot(tx, sql, t.payment_id, t.transaction_id, t.status, money::format(t.fee),
                        money::format(t.net), t.gateway_transaction_id, t.authorization_code,
                        t.error_code, t.error_message);
  locked_completion out;
  if (r.empty()) return out;
  const auto row = r[0];
  out.payment = read_payment(row.slice(0, payment_col_count));
  if (!row[payment_col_count].is_null())
    out.completed = read_transaction(row.slice(payment_col_count, row.size()));
  return out;
}

payment_row record_outcome(tx_t& tx, const payment_row& next, bool changed, int ttl_seconds,
                           const audit_entry& a, const db::outbox& outbox, const db::outbox_rows& events) {
  // One statement: the payment's mutable columns (status, amounts, codes, expiry; version bumped)
  // when `changed`, the audit row (new status = $2, the payment's status after it) and the events.
  auto r = db::exec_hot(tx,
      cat({"WITH u AS (UPDATE payments.payments SET status = $2, authorized_amount = $3::numeric,"
           " captured_amount = $4::numeric, refunded_amount = $5::numeric, fee_amount = $6::numeric,"
           " authorization_code = NULLIF($7, ''), gateway_reference = NULLIF($8, ''),"
           " capture_final = $9,"
           " expires_at = CASE WHEN $10 > 0 THEN now() + make_interval(secs => $10) ELSE expires_at END,"
           " authorized_at = CASE WHEN $10 > 0 OR ($2 = 'captured' AND authorized_at IS NULL)"
           "  THEN now() ELSE authorized_at END,"
           " version = version + 1, updated_at = now() WHERE payment_id = $1::uuid AND $11 RETURNING ",
           payment_cols, "),"
           " a AS (INSERT INTO payments.payment_audit_log (payment_id, action, actor, old_status,"
           " new_status, amount) VALUES ($1::uuid, $12, $13, NULLIF($14, ''), NULLIF($2, ''), $15::numeric)),"
           " ev AS (", outbox.insert_rows_sql(16), ")"
           " SELECT * FROM u"}),
      next.payment_id, next.status, money::format(next.authorized), money::format(next.captured),
      money::format(next.refunded), money::format(next.fee), next.authorization_code,
      next.gateway_reference, next.capture_final, ttl_seconds, changed, a.action, a.actor,
      a.old_status, money::format(a.amount), events.json());
  return r.empty() ? next : read_payment(r[0]);
}

void audit(tx_t& tx, const std::string& payment_id, const std::string& action,
           const std::string& old_status, const std::string& new_status, money::cents amount,
           const std::string& actor) {
  db::exec_hot(tx, "INSERT INTO payments.payment_audit_log (payment_id, action, actor, old_status,"
                 " new_status, amount) VALUES ($1::uuid, $2, $3, NULLIF($4, ''), NULLIF($5, ''), $6::numeric)",
                 payment_id, action, actor, old_status, new_status, money::format(amount));
}

std::optional<transaction_row> get_transaction(tx_t& tx, const std::string& transaction_id) {
  auto r = db::exec_hot(tx, cat({"SELECT ", transaction_cols, " FROM payments.payment_transactions"
                               " WHERE transaction_id = $1::uuid"}),
                          transaction_id);
  if (r.empty()) return std::nullopt;
  return read_transaction(r[0]);
}

std::optional<transaction_row> transaction_by_key(tx_t& tx, const std::string& payment_id,
                                                  const std::string& key) {
  auto r = db::exec_hot(tx, cat({"SELECT ", transaction_cols, " FROM payments.payment_transactions"
                               " WHERE payment_id = $1::uuid AND idempotency_key = $2"}),
                          payment_id, key);
  if (r.empty()) return std::nullopt;
  return read_transaction(r[0]);
}

std::optional<transaction_row> authorization_by_key(tx_t& tx, const std::string& order_id,
                                                    const std::string& key) {
  auto r = db::exec_hot(tx, cat({"SELECT ", transaction_cols, " FROM payments.payment_transactions"
                               " WHERE idempotency_key = $2 AND order_id = $1"
                               " AND transaction_type IN ('authorize', 'sale')"
                               " ORDER BY created_at DESC LIMIT 1"}),
                          order_id, key);
  if (r.empty()) return std::nullopt;
  return read_transaction(r[0]);
}

std::optional<transaction_row> in_flight_transaction(tx_t& tx, const std::string& payment_id) {
  auto r = tx.exec_params(cat({"SELECT ", transaction_cols, " FROM payments.payment_transactions"
                               " WHERE payment_id = $1::uuid AND transaction_status IN ('pending', 'processing')"}),
                          payment_id);
  if (r.empty()) return std::nullopt;
  return read_transaction(r[0]);
}

std::vector<transaction_row> transactions_of(tx_t& tx, const std::string& payment_id) {
  std::vector<transaction_row> out;
  for (const auto& r : db::exec_hot(tx, cat({"SELECT ", transaction_cols, " FROM payments.payment_transactions"
                                           " WHERE payment_id = $1::uuid ORDER BY created_at, transaction_id"}),
                                      payment_id))
    out.push_back(read_transaction(r));
  return out;
}

bool insert_transaction(tx_t& tx, const transaction_row& t) {
  auto r = db::exec_hot(tx,
      "INSERT INTO payments.payment_transactions (transaction_id, payment_id, order_id, customer_id,"
      " gateway_id, payment_method_id, transaction_type, transaction_status, amount, currency,"
      " capture_final, idempotency_key, risk_score, risk_level)"
      " VALUES ($1::uuid, $2::uuid, NULLIF($3, ''), $4, $5, NULLIF($6, '')::uuid, $7, $8,"
      " $9::numeric, $10, $11, $12, NULLIF($13, '')::integer, NULLIF($14, ''))"
      " ON CONFLICT DO NOTHING RETURNING 1",
      t.transaction_id, t.payment_id, t.order_id, t.customer_id, t.gateway_id, t.payment_method_id,
      t.type, t.status, money::format(t.amount), t.currency, t.capture_final,
      t.idempotency_key, risk_text(t.risk_score), t.risk_level);
  return !r.empty();
}

std::vector<std::string> stale_pending_transactions(tx_t& tx, int64_t older_than_seconds, int64_t limit) {
  std::vector<std::string> out;
  for (const auto& r : db::exec_hot(tx,
           "SELECT transaction_id::text FROM payments.payment_transactions"
           " WHERE transaction_status IN ('pending', 'processing')"
           " AND initiated_at < now() - make_interval(secs => $1) ORDER BY initiated_at LIMIT $2",
           static_cast<double>(older_than_seconds), limit))
    out.push_back(text(r[0]));
  return out;
}

void insert_refund(tx_t& tx, const refund_row& f) {
  db::exec_hot(tx,
      "INSERT INTO payments.payment_refunds (refund_id, transaction_id, payment_id, order_id,"
      " customer_id, refund_type, refund_reason, refund_amount, currency, refund_status, notes,"
      " requested_by) VALUES ($1::uuid, $2::uuid, $3::uuid, NULLIF($4, ''), $5, $6, $7,"
      " $8::numeric, $9, $10, NULLIF($11, ''), NULLIF($12, ''))",
      f.refund_id, f.transaction_id, f.payment_id, f.order_id, f.customer_id, f.refund_type,
      f.refund_reason, money::format(f.amount), f.currency, f.status, f.notes, f.requested_by);
}

refund_row update_refund(tx_t& tx, const refund_row& f) {
  auto r = db::exec_hot(tx,
      cat({"UPDATE payments.payment_refunds SET refund_status = $2, gateway_refund_id = NULLIF($3, ''),"
           " error_code = NULLIF($4, ''), error_message = NULLIF($5, ''),"
           " completed_at = CASE WHEN $2 IN ('completed', 'failed') THEN now() ELSE completed_at END,"
           " updated_at = now() WHERE refund_id = $1::uuid RETURNING ", refund_cols}),
      f.refund_id, f.status, f.gateway_refund_id, f.error_code, f.error_message);
  return read_refund(r[0]);
}

std::optional<refund_row> refund_by_transaction(tx_t& tx, const std::string& transaction_id) {
  auto r = db::exec_hot(tx, cat({"SELECT ", refund_cols, " FROM payments.payment_refunds"
                               " WHERE transaction_id = $1::uuid"}),
                          transaction_id);
  if (r.empty()) return std::nullopt;
  return read_refund(r[0]);
}

std::vector<refund_row> refunds_of(tx_t& tx, const std::string& payment_id) {
  std::vector<refund_row> out;
  for (const auto& r : db::exec_hot(tx, cat({"SELECT ", refund_cols, " FROM payments.payment_refunds"
                                           " WHERE payment_id = $1::uuid ORDER BY requested_at, refund_id"}),
                                      payment_id))
    out.push_back(read_refund(r));
  return out;
}

std::vector<std::string> expired_authorizations(tx_t& tx, int64_t limit) {
  std::vector<std::string> out;
  for (const auto& r : db::exec_hot(tx,
           "SELECT p.payment_id::text FROM payments.payments p"
           " WHERE p.status IN ('authorized', 'partially_captured') AND p.expires_at < now()"
           " AND NOT EXISTS (SELECT 1 FROM payments.payment_transactions t WHERE t.payment_id ="
           " p.payment_id AND t.transaction_status IN ('pending', 'processing'))"
           " ORDER BY p.expires_at LIMIT $1 FOR UPDATE OF p SKIP LOCKED",
           limit))
    out.push_back(text(r[0]));
  return out;
}

}  // namespace mercato::payment
