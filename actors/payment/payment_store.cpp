// SQL of the payments schema (see payment_store.hpp).
#include "payment/payment_store.hpp"

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <tuple>
#include <variant>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "db/hot_statement.hpp"
#include "db/sql_array.hpp"

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
std::vector<std::string> comma_list(const std::string& list) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (!list.empty() && pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    out.push_back(list.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

// ---- row structs ⇄ columns
// Each row struct lists its columns once: the SELECT expression and the member it fills, in
// SELECT order. The SELECT list and the reader are both made from that list, so they cannot
// drift apart. Members that are not text or bool say how the column is read:
template <class Row> struct as_cents { money::cents Row::*member; };          // NUMERIC(12,2)
template <class Row> struct as_bigint { int64_t Row::*member; };              // bigint
template <class Row> struct as_int { int Row::*member; int if_null = 0; };   // integer
template <class Row> struct as_list { std::vector<std::string> Row::*member; };  // "a,b,c"
template <class Row> as_cents(money::cents Row::*) -> as_cents<Row>;
template <class Row> as_bigint(int64_t Row::*) -> as_bigint<Row>;
template <class Row> as_int(int Row::*, int) -> as_int<Row>;
template <class Row> as_list(std::vector<std::string> Row::*) -> as_list<Row>;

template <class Row>
struct column {
  const char* sql;
  std::variant<std::string Row::*, bool Row::*, as_cents<Row>, as_bigint<Row>, as_int<Row>, as_list<Row>> into;
};
template <class Row>
using columns = std::vector<column<Row>>;

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F> overloaded(F...) -> overloaded<F...>;

template <class Row>
std::string select_list(const columns<Row>& cols) {
  std::string out;
  for (const auto& c : cols) {
    if (!out.empty()) out += ", ";
    out += c.sql;
  }
  return out;
}

template <class Row>
Row read_row(const pqxx::row& r, const columns<Row>& cols) {
  Row out;
  for (pqxx::row::size_type i = 0; i < cols.size(); ++i) {
    const pqxx::field f = r[i];
    std::visit(overloaded{[&](std::string Row::*m) { out.*m = text(f); },
                          [&](bool Row::*m) { out.*m = boolean(f); },
                          [&](as_cents<Row> c) { out.*c.member = cents(f); },
                          [&](as_bigint<Row> c) { out.*c.member = f.is_null() ? 0 : f.as<int64_t>(); },
                          [&](as_int<Row> c) { out.*c.member = integer(f, c.if_null); },
                          [&](as_list<Row> c) { out.*c.member = comma_list(text(f)); }},
               cols[i].into);
  }
  return out;
}

// The first row of `r` read as a Row; nullopt when `r` is empty.
template <class Row>
std::optional<Row> first_row(const pqxx::result& r, const columns<Row>& cols) {
  if (r.empty()) return std::nullopt;
  return read_row(r[0], cols);
}

template <class Row>
std::vector<Row> all_rows(const pqxx::result& r, const columns<Row>& cols) {
  std::vector<Row> out;
  out.reserve(r.size());
  for (const auto& row : r) out.push_back(read_row(row, cols));
  return out;
}

using G = gateway_row;
const columns<G> gateway_columns{
    {"gateway_id", as_int{&G::gateway_id, 0}},
    {"gateway_name", &G::gateway_name},
    {"gateway_type", &G::gateway_type},
    {"adapter", &G::adapter},
    {"is_active", &G::is_active},
    {"is_test_mode", &G::is_test_mode},
    {"array_to_string(supported_currencies, ',')", as_list{&G::currencies}},
    {"(transaction_fee_percent * 100)::bigint", as_bigint{&G::fee_percent_e2}},
    {"transaction_fee_fixed", as_cents{&G::fee_fixed}},
    {"min_transaction_amount", as_cents{&G::min_amount}},
    {"max_transaction_amount", as_cents{&G::max_amount}},
    {TS("created_at"), &G::created_at},
    {TS("updated_at"), &G::updated_at},
};

using M = method_row;
const columns<M> method_columns{
    {"method_id::text", &M::method_id},
    {"customer_id", &M::customer_id},
    {"gateway_id", as_int{&M::gateway_id, 0}},
    {"method_type", &M::method_type},
    {"card_brand", &M::card_brand},
    {"card_last_four", &M::card_last_four},
    {"card_expiry_month", as_int{&M::expiry_month, 0}},
    {"card_expiry_year", as_int{&M::expiry_year, 0}},
    {"card_holder_name", &M::holder_name},
    {"card_fingerprint", &M::fingerprint},
    {"gateway_token", &M::gateway_token},
    {"gateway_customer_id", &M::gateway_customer_id},
    {"is_default", &M::is_default},
    {"is_verified", &M::is_verified},
    {TS("created_at"), &M::created_at},
    {TS("updated_at"), &M::updated_at},
};

using P = payment_row;
const columns<P> payment_columns{
    {"payment_id::text", &P::payment_id},
    {"order_id", &P::order_id},
    {"customer_id", &P::customer_id},
    {"gateway_id", as_int{&P::gateway_id, 0}},
    {"method_id::text", &P::method_id},
    {"instrument_token", &P::instrument_token},
    {"currency", &P::currency},
    {"status", &P::status},
    {"amount", as_cents{&P::amount}},
    {"authorized_amount", as_cents{&P::authorized}},
    {"captured_amount", as_cents{&P::captured}},
    {"refunded_amount", as_cents{&P::refunded}},
    {"fee_amount", as_cents{&P::fee}},
    {"authorization_code", &P::authorization_code},
    {"gateway_reference", &P::gateway_reference},
    {"risk_score", as_int{&P::risk_score, -1}},
    {"risk_level", &P::risk_level},
    {"source", &P::source},
    {TS("expires_at"), &P::expires_at},
    {TS("authorized_at"), &P::authorized_at},
    {"capture_final", &P::capture_final},
    {"multicapture", &P::multicapture},
    {"coalesce(expires_at < now(), false)", &P::expired},
    {"version", as_int{&P::version, 0}},
    {TS("created_at"), &P::created_at},
    {TS("updated_at"), &P::updated_at},
};

using T = transaction_row;
const columns<T> transaction_columns{
    {"transaction_id::text", &T::transaction_id},
    {"payment_id::text", &T::payment_id},
    {"order_id", &T::order_id},
    {"customer_id", &T::customer_id},
    {"gateway_id", as_int{&T::gateway_id, 0}},
    {"payment_method_id::text", &T::payment_method_id},
    {"transaction_type", &T::type},
    {"transaction_status", &T::status},
    {"amount", as_cents{&T::amount}},
    {"fee_amount", as_cents{&T::fee}},
    {"net_amount", as_cents{&T::net}},
    {"capture_final", &T::capture_final},
    {"gateway_transaction_id", &T::gateway_transaction_id},
    {"authorization_code", &T::authorization_code},
    {"error_code", &T::error_code},
    {"error_message", &T::error_message},
    {"idempotency_key", &T::idempotency_key},
    {"risk_score", as_int{&T::risk_score, -1}},
    {"risk_level", &T::risk_level},
    {TS("initiated_at"), &T::initiated_at},
    {TS("completed_at"), &T::completed_at},
    {TS("created_at"), &T::created_at},
    {TS("updated_at"), &T::updated_at},
    {"currency", &T::currency},
};

using R = refund_row;
const columns<R> refund_columns{
    {"refund_id::text", &R::refund_id},
    {"transaction_id::text", &R::transaction_id},
    {"payment_id::text", &R::payment_id},
    {"order_id", &R::order_id},
    {"customer_id", &R::customer_id},
    {"refund_type", &R::refund_type},
    {"refund_reason", &R::refund_reason},
    {"refund_amount", as_cents{&R::amount}},
    {"currency", &R::currency},
    {"refund_status", &R::status},
    {"gateway_refund_id", &R::gateway_refund_id},
    {"error_code", &R::error_code},
    {"error_message", &R::error_message},
    {"notes", &R::notes},
    {"requested_by", &R::requested_by},
    {TS("requested_at"), &R::requested_at},
    {TS("completed_at"), &R::completed_at},
    {TS("created_at"), &R::created_at},
    {TS("updated_at"), &R::updated_at},
};

const std::string gateway_cols = select_list(gateway_columns);
const std::string method_cols = select_list(method_columns);
const std::string payment_cols = select_list(payment_columns);
const std::string transaction_cols = select_list(transaction_columns);
const std::string refund_cols = select_list(refund_columns);

std::string cat(std::initializer_list<std::string_view> parts) {
  std::string s;
  for (auto p : parts) s.append(p);
  return s;
}

std::string risk_text(int score) { return score < 0 ? std::string{} : std::to_string(score); }

}  // namespace

std::vector<gateway_row> load_gateways(tx_t& tx) {
  auto r = tx.exec(cat({"SELECT ", gateway_cols, " FROM payments.payment_gateways ORDER BY gateway_id"}));
  return all_rows(r, gateway_columns);
}

std::optional<method_row> find_method(tx_t& tx, const std::string& method_id) {
  auto r = db::exec_hot(tx, cat({"SELECT ", method_cols, " FROM payments.payment_methods"
                               " WHERE method_id = $1::uuid AND deleted_at IS NULL"}),
                          method_id);
  return first_row(r, method_columns);
}

std::optional<method_row> default_method(tx_t& tx, const std::string& customer_id) {
  auto r = db::exec_hot(tx, cat({"SELECT ", method_cols, " FROM payments.payment_methods"
                               " WHERE customer_id = $1 AND is_default AND deleted_at IS NULL"}),
                          customer_id);
  return first_row(r, method_columns);
}

std::vector<method_row> list_methods(tx_t& tx, const std::string& customer_id) {
  auto r = db::exec_hot(tx, cat({"SELECT ", method_cols, " FROM payments.payment_methods"
                               " WHERE customer_id = $1 AND deleted_at IS NULL"
                               " ORDER BY is_default DESC, created_at, method_id"}),
                        customer_id);
  return all_rows(r, method_columns);
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
  return read_row(r[0], method_columns);
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

std::vector<int64_t> method_changes_since(tx_t& tx, const std::vector<method_changes_ask>& asks) {
  std::vector<std::string> customers;
  std::vector<int64_t> days;
  for (const auto& a : asks) {
    customers.push_back(a.customer_id);
    days.push_back(a.days);
  }
  // The first array is opaque to the planner so that the generic plan is kept (db/hot_statement.hpp).
  auto rows = db::exec_hot(
      tx,
      "SELECT (SELECT count(*) FROM payments.payment_method_changes WHERE customer_id = k.c"
      " AND at >= now() - make_interval(days => k.d::int))"
      " FROM unnest(" MERCATO_OPAQUE_PARAM("$1", "text[]") ", $2::bigint[]) WITH ORDINALITY AS k(c, d, n) ORDER BY k.n",
      db::text_array(customers), db::int_array(days));
  std::vector<int64_t> counts;
  counts.reserve(rows.size());
  for (const auto& r : rows) counts.push_back(r[0].as<int64_t>());
  return counts;
}

std::optional<payment_row> get_payment(tx_t& tx, const std::string& payment_id, bool lock) {
  auto r = db::exec_hot(tx, cat({"SELECT ", payment_cols, " FROM payments.payments WHERE payment_id = $1::uuid",
                               lock ? " FOR UPDATE" : ""}),
                          payment_id);
  return first_row(r, payment_columns);
}

std::optional<payment_row> live_payment_for_order(tx_t& tx, const std::string& order_id, bool lock) {
  auto r = db::exec_hot(tx,
      cat({"SELECT ", payment_cols, " FROM payments.payments WHERE order_id = $1 AND status IN"
           " ('pending', 'authorized', 'partially_captured', 'captured', 'partially_refunded')",
           lock ? " FOR UPDATE" : ""}),
      order_id);
  return first_row(r, payment_columns);
}

std::optional<payment_row> latest_payment_for_order(tx_t& tx, const std::string& order_id) {
  auto r = db::exec_hot(tx, cat({"SELECT ", payment_cols, " FROM payments.payments WHERE order_id = $1"
                               " ORDER BY created_at DESC, payment_id LIMIT 1"}),
                          order_id);
  return first_row(r, payment_columns);
}

std::optional<payment_row> payment_by_reference(tx_t& tx, int gateway_id, const std::string& reference) {
  auto r = tx.exec_params(cat({"SELECT ", payment_cols, " FROM payments.payments WHERE gateway_id = $1"
                               " AND gateway_reference = $2 ORDER BY created_at DESC LIMIT 1 FOR UPDATE"}),
                          gateway_id, reference);
  return first_row(r, payment_columns);
}

std::vector<payment_row> list_payments(tx_t& tx, const payment_filter& f) {
  auto r = db::exec_hot(tx,
      cat({"SELECT ", payment_cols, " FROM payments.payments WHERE ($1 = '' OR order_id = $1)"
           " AND ($2 = '' OR customer_id = $2) AND ($3 = '' OR status = $3)"
           " ORDER BY created_at DESC, payment_id OFFSET $4 LIMIT $5"}),
      f.order_id, f.customer_id, f.status, f.skip, f.limit);
  return all_rows(r, payment_columns);
}

std::vector<staging> stage_authorizations(tx_t& tx, const std::vector<staged_authorization>& items,
                                          bool find_earlier) {
  // One statement for every document `d` (numbered `n`): the payment (skipped when the order has a
  // live one, or when `earlier` finds an authorization of the order under the same key) and its
  // first transaction. `earlier` is the key look-up of authorization_by_key, one index probe per
  // document: a repeated key must find the earlier attempt even when its payment failed, which no
  // unique index would report as a conflict. Rows of the order's live payment conflict on
  // payments_one_live_per_order, and DO NOTHING also skips a second document of the same order.
  static const std::string sql = cat({
      "WITH d AS (SELECT x.j, x.n FROM mercato.batch_items($1::jsonb) AS x(j, n)),"
      " earlier AS MATERIALIZED (SELECT d.n, e.* FROM d CROSS JOIN LATERAL (SELECT ", transaction_cols,
      "  FROM payments.payment_transactions WHERE $2 AND d.j->>'order_id' <> ''"
      "  AND idempotency_key = d.j->>'key' AND order_id = d.j->>'order_id'"
      "  AND transaction_type IN ('authorize', 'sale') ORDER BY created_at DESC LIMIT 1) AS e),"
      " p AS ("
      " INSERT INTO payments.payments (payment_id, order_id, customer_id, gateway_id, method_id,"
      "  instrument_token, currency, status, amount, risk_score, risk_level, source)"
      " SELECT (d.j->>'payment_id')::uuid, NULLIF(d.j->>'order_id', ''), d.j->>'customer_id',"
      "  (d.j->>'gateway_id')::integer, NULLIF(d.j->>'method_id', '')::uuid, d.j->>'instrument_token',"
      "  d.j->>'currency', d.j->>'status', (d.j->>'amount')::numeric, NULLIF(d.j->>'risk_score', '')::integer,"
      "  NULLIF(d.j->>'risk_level', ''), NULLIF(d.j->>'source', '')"
      " FROM d WHERE NOT EXISTS (SELECT 1 FROM earlier WHERE earlier.n = d.n) ORDER BY d.n"
      " ON CONFLICT (order_id) WHERE status IN ('pending', 'authorized', 'partially_captured',"
      "  'captured', 'partially_refunded') DO NOTHING RETURNING payment_id),"
      " t AS ("
      " INSERT INTO payments.payment_transactions (transaction_id, payment_id, order_id,"
      "  customer_id, gateway_id, payment_method_id, transaction_type, transaction_status, amount,"
      "  currency, idempotency_key, risk_score, risk_level)"
      " SELECT (d.j->>'transaction_id')::uuid, p.payment_id, NULLIF(d.j->>'order_id', ''), d.j->>'customer_id',"
      "  (d.j->>'gateway_id')::integer, NULLIF(d.j->>'method_id', '')::uuid, d.j->>'type', 'pending',"
      "  (d.j->>'amount')::numeric, d.j->>'currency', d.j->>'key', NULLIF(d.j->>'risk_score', '')::integer,"
      "  NULLIF(d.j->>'risk_level', '') FROM p JOIN d ON (d.j->>'payment_id')::uuid = p.payment_id"
      " RETURNING payment_id)"
      " SELECT d.n, t.payment_id IS NOT NULL, earlier.* FROM d"
      " LEFT JOIN t ON t.payment_id = (d.j->>'payment_id')::uuid LEFT JOIN earlier ON earlier.n = d.n"});
  auto docs = nlohmann::json::array();
  for (const auto& [p, t] : items)
    docs.push_back({{"payment_id", p.payment_id},        {"order_id", p.order_id},
                    {"customer_id", p.customer_id},      {"gateway_id", p.gateway_id},
                    {"method_id", p.method_id},          {"instrument_token", p.instrument_token},
                    {"currency", p.currency},            {"status", p.status},
                    {"amount", money::format(p.amount)}, {"risk_score", risk_text(p.risk_score)},
                    {"risk_level", p.risk_level},        {"source", p.source},
                    {"transaction_id", t.transaction_id}, {"type", t.type},
                    {"key", t.idempotency_key}});
  auto r = db::exec_hot(tx, sql, docs.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                        find_earlier);
  std::vector<staging> out(items.size());
  for (const auto& row : r) {
    const auto i = row[0].as<size_t>() - 1;
    if (i >= out.size()) continue;
    out[i].inserted = row[1].as<bool>();
    if (!row[2].is_null()) out[i].earlier = read_row(row.slice(3, row.size()), transaction_columns);
  }
  return out;
}

staging insert_payment_with_transaction(tx_t& tx, const payment_row& p, const transaction_row& t,
                                       bool find_earlier) {
  return stage_authorizations(tx, {{p, t}}, find_earlier)[0];
}

namespace {

// A value a statement writes, by field name: a parameter ("$7") or a field of the batch
// document ("(d.j->>'fee')"). One text per column list, whichever way the values arrive.
using value_sql = std::function<std::string(std::string_view field)>;

// Parameters numbered from `first`, in the order of `fields`.
value_sql parameters(std::vector<std::string_view> fields, int first) {
  return [fields = std::move(fields), first](std::string_view f) {
    const auto at = std::find(fields.begin(), fields.end(), f);
    if (at == fields.end()) throw std::logic_error("payment store: no parameter for " + std::string(f));
    return "$" + std::to_string(first + (at - fields.begin()));
  };
}

std::string document_field(std::string_view f) { return cat({"(d.j->>'", f, "')"}); }

// What completes a pending transaction (status, fee, net, PSP codes, error, final capture) and
// what the outcome writes to its payment and audit log, in the order record_outcome and
// lock_and_complete bind them.
const std::vector<std::string_view> completion_fields{
    "t_status", "t_fee", "t_net", "t_gateway_transaction_id", "t_authorization_code", "t_error_code",
    "t_error_message", "t_capture_final"};
const std::vector<std::string_view> outcome_fields{
    "payment_id", "status", "authorized", "captured", "refunded", "fee", "authorization_code",
    "gateway_reference", "capture_final", "ttl", "changed", "audit_action", "audit_actor",
    "audit_old_status", "audit_amount", "events", "multicapture"};

std::string completion_set_sql(const value_sql& v) {
  return cat({"transaction_status = ", v("t_status"), ", fee_amount = ", v("t_fee"), "::numeric, net_amount = ",
              v("t_net"), "::numeric, gateway_transaction_id = NULLIF(", v("t_gateway_transaction_id"),
              ", ''), authorization_code = NULLIF(", v("t_authorization_code"), ", ''), error_code = NULLIF(",
              v("t_error_code"), ", ''), error_message = NULLIF(", v("t_error_message"),
              ", ''), capture_final = capture_final OR ", v("t_capture_final"),
              "::boolean, completed_at = now(), updated_at = now()"});
}

// The payment's write (version bumped) when `changed`; `from`: the batch's FROM clause, if any.
std::string payment_update_sql(const value_sql& v, std::string_view from = {}) {
  return cat({"UPDATE payments.payments SET status = ", v("status"), ", authorized_amount = ", v("authorized"),
              "::numeric, captured_amount = ", v("captured"), "::numeric, refunded_amount = ", v("refunded"),
              "::numeric, fee_amount = ", v("fee"), "::numeric, authorization_code = NULLIF(",
              v("authorization_code"), ", ''), gateway_reference = NULLIF(", v("gateway_reference"),
              ", ''), capture_final = ", v("capture_final"), "::boolean, multicapture = ", v("multicapture"),
              "::boolean, expires_at = CASE WHEN ", v("ttl"), "::integer > 0 THEN now() + make_interval(secs => ",
              v("ttl"), "::integer) ELSE expires_at END, authorized_at = CASE WHEN ", v("ttl"),
              "::integer > 0 OR (", v("status"), " = 'captured' AND authorized_at IS NULL) THEN now()"
              " ELSE authorized_at END, version = version + 1, updated_at = now() ",
              from, " WHERE payment_id = ", v("payment_id"), "::uuid AND ", v("changed"), "::boolean"});
}

// The audit row (new status: the payment's after the outcome).
std::string audit_insert_sql(const value_sql& v, std::string_view from = {}) {
  return cat({"INSERT INTO payments.payment_audit_log (payment_id, action, actor, old_status, new_status, amount)"
              " SELECT ", v("payment_id"), "::uuid, ", v("audit_action"), ", ", v("audit_actor"), ", NULLIF(",
              v("audit_old_status"), ", ''), NULLIF(", v("status"), ", ''), ", v("audit_amount"), "::numeric ",
              from});
}

// The values of completion_fields, in that order.
auto completion_params(const transaction_row& t) {
  return std::make_tuple(t.status, money::format(t.fee), money::format(t.net), t.gateway_transaction_id,
                         t.authorization_code, t.error_code, t.error_message, t.capture_final);
}

// The values of outcome_fields, in that order.
auto outcome_params(const payment_row& next, bool changed, int ttl_seconds, const audit_entry& a,
                    const db::outbox_rows& events) {
  return std::make_tuple(next.payment_id, next.status, money::format(next.authorized), money::format(next.captured),
                         money::format(next.refunded), money::format(next.fee), next.authorization_code,
                         next.gateway_reference, next.capture_final, ttl_seconds, changed, a.action, a.actor,
                         a.old_status, money::format(a.amount), events.json(), next.multicapture);
}

// One completion as a batch document: the fields completion_set_sql, payment_update_sql and
// audit_insert_sql read, the payment's expected version, the transaction and the events.
nlohmann::json completion_document(const completion& c) {
  const transaction_row& t = c.transaction;
  const payment_row& next = c.next;
  return {{"transaction_id", t.transaction_id},
          {"version", c.version},
          {"t_status", t.status},
          {"t_fee", money::format(t.fee)},
          {"t_net", money::format(t.net)},
          {"t_gateway_transaction_id", t.gateway_transaction_id},
          {"t_authorization_code", t.authorization_code},
          {"t_error_code", t.error_code},
          {"t_error_message", t.error_message},
          {"t_capture_final", t.capture_final},
          {"payment_id", next.payment_id},
          {"status", next.status},
          {"authorized", money::format(next.authorized)},
          {"captured", money::format(next.captured)},
          {"refunded", money::format(next.refunded)},
          {"fee", money::format(next.fee)},
          {"authorization_code", next.authorization_code},
          {"gateway_reference", next.gateway_reference},
          {"capture_final", next.capture_final},
          {"multicapture", next.multicapture},
          {"ttl", c.ttl_seconds},
          {"changed", c.changed},
          {"audit_action", c.audit.action},
          {"audit_actor", c.audit.actor},
          {"audit_old_status", c.audit.old_status},
          {"audit_amount", money::format(c.audit.amount)},
          {"events", c.events ? c.events->array() : nlohmann::json::array()}};
}

template <class Params>
pqxx::result exec_hot_with(tx_t& tx, const std::string& sql, const Params& params) {
  return std::apply([&](const auto&... p) { return db::exec_hot(tx, sql, p...); }, params);
}

}  // namespace

locked_completion lock_and_complete(tx_t& tx, const transaction_row& t) {
  // The payment is locked first (the EXISTS makes the UPDATE wait for `p`), the lock order of
  // every operation. A concurrent apply of the same transaction that committed while this one
  // waited for the lock leaves it no longer pending: the guarded UPDATE then changes nothing.
  static const std::string sql = cat({
      "WITH p AS MATERIALIZED (SELECT ", payment_cols, " FROM payments.payments"
      " WHERE payment_id = $1::uuid FOR UPDATE),"
      " t AS (UPDATE payments.payment_transactions SET ", completion_set_sql(parameters(completion_fields, 3)),
      "  WHERE transaction_id = $2::uuid AND transaction_status IN ('pending', 'processing')"
      "  AND EXISTS (SELECT 1 FROM p) RETURNING ", transaction_cols, ")"
      " SELECT p.*, t.* FROM p LEFT JOIN t ON true"});
  auto r = exec_hot_with(tx, sql, std::tuple_cat(std::make_tuple(t.payment_id, t.transaction_id), completion_params(t)));
  locked_completion out;
  if (r.empty()) return out;
  const auto row = r[0];
  const auto payment_width = static_cast<pqxx::row::size_type>(payment_columns.size());
  out.payment = read_row(row.slice(0, payment_width), payment_columns);
  if (!row[payment_width].is_null())
    out.completed = read_row(row.slice(payment_width, row.size()), transaction_columns);
  return out;
}

payment_row record_outcome(tx_t& tx, const payment_row& next, bool changed, int ttl_seconds,
                           const audit_entry& a, const db::outbox& outbox, const db::outbox_rows& events) {
  // One statement: the payment's mutable columns (status, amounts, codes, expiry; version bumped)
  // when `changed`, the audit row (new status = $2, the payment's status after it) and the events.
  const auto v = parameters(outcome_fields, 1);
  auto r = exec_hot_with(tx,
      cat({"WITH u AS (", payment_update_sql(v), " RETURNING ", payment_cols, "),"
           " a AS (", audit_insert_sql(v), "),"
           " ev AS (", outbox.insert_rows_sql(16), ")"
           " SELECT * FROM u"}),
      outcome_params(next, changed, ttl_seconds, a, events));
  return r.empty() ? next : read_row(r[0], payment_columns);
}

std::vector<std::optional<optimistic_completion>> complete_all_if_unchanged(tx_t& tx,
                                                                           const std::vector<completion>& items,
                                                                           const db::outbox& outbox) {
  // lock_and_complete and record_outcome for every document `d` (numbered `n`) in one statement.
  // `p` locks the payments still at their document's version, in payment_id order (the order every
  // batch takes them in); `t` completes the transactions still pending of those; `c` is the
  // documents `t` completed, and every write joins it.
  // - `p` probes each payment by its key whatever the table held when the generic plan was made: as
  //   a join, the plan made on a new database hashed a sequential scan of payments (1.7 ms a call
  //   after 15 s of the orders bench, session 14). A locking subquery is never flattened into a join.
  // - The pending test is written in a form no index answers: else the plan read every pending
  //   transaction through payment_transactions_pending.
  // payment_batch_test checks both. `t`'s join may still scan payment_transactions while the plan
  // made on a near-empty table lasts (until the table's next ANALYZE).
  const std::string sql = cat({
      "WITH d AS (SELECT x.j, x.n FROM mercato.batch_items($1::jsonb) AS x(j, n)),"
      " p AS MATERIALIZED (SELECT d.n FROM (SELECT * FROM d ORDER BY (d.j->>'payment_id')::uuid) AS d"
      "  CROSS JOIN LATERAL (SELECT 1 FROM payments.payments WHERE payment_id = (d.j->>'payment_id')::uuid"
      "  AND version = (d.j->>'version')::integer FOR UPDATE) AS locked),"
      " t AS (UPDATE payments.payment_transactions SET ", completion_set_sql(document_field),
      "  FROM p JOIN d USING (n) WHERE transaction_id = (d.j->>'transaction_id')::uuid"
      "  AND (transaction_status IN ('pending', 'processing')) IS TRUE RETURNING d.n, ", transaction_cols, "),"
      " c AS (SELECT d.j, d.n FROM d JOIN (SELECT n FROM t) AS done USING (n)),"
      " u AS (", payment_update_sql(document_field, "FROM c AS d"), " RETURNING d.n, ", payment_cols, "),"
      " a AS (", audit_insert_sql(document_field, "FROM c AS d"), "),"
      " ev AS (", outbox.insert_rows_sql("c", "c.j->'events'"), ")"
      " SELECT t.*, u.* FROM t LEFT JOIN u ON u.n = t.n"});
  auto docs = nlohmann::json::array();
  for (const auto& c : items) docs.push_back(completion_document(c));
  auto r = db::exec_hot(tx, sql, docs.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  std::vector<std::optional<optimistic_completion>> out(items.size());
  const auto transaction_end = static_cast<pqxx::row::size_type>(1 + transaction_columns.size());
  for (const auto& row : r) {
    const auto i = row[0].as<size_t>() - 1;
    if (i >= out.size()) continue;
    optimistic_completion done;
    done.transaction = read_row(row.slice(1, transaction_end), transaction_columns);
    done.payment = row[transaction_end].is_null()
                       ? items[i].next
                       : read_row(row.slice(transaction_end + 1, row.size()), payment_columns);
    out[i] = std::move(done);
  }
  return out;
}

std::optional<optimistic_completion> complete_if_unchanged(tx_t& tx, const transaction_row& t, int version,
                                                           const payment_row& next, bool changed,
                                                           int ttl_seconds, const audit_entry& a,
                                                           const db::outbox& outbox,
                                                           const db::outbox_rows& events) {
  return complete_all_if_unchanged(tx, {completion{t, version, next, changed, ttl_seconds, a, &events}}, outbox)[0];
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
  return first_row(r, transaction_columns);
}

std::optional<transaction_row> transaction_by_key(tx_t& tx, const std::string& payment_id,
                                                  const std::string& key) {
  auto r = db::exec_hot(tx, cat({"SELECT ", transaction_cols, " FROM payments.payment_transactions"
                               " WHERE payment_id = $1::uuid AND idempotency_key = $2"}),
                          payment_id, key);
  return first_row(r, transaction_columns);
}

std::optional<transaction_row> authorization_by_key(tx_t& tx, const std::string& order_id,
                                                    const std::string& key) {
  auto r = db::exec_hot(tx, cat({"SELECT ", transaction_cols, " FROM payments.payment_transactions"
                               " WHERE idempotency_key = $2 AND order_id = $1"
                               " AND transaction_type IN ('authorize', 'sale')"
                               " ORDER BY created_at DESC LIMIT 1"}),
                          order_id, key);
  return first_row(r, transaction_columns);
}

std::optional<transaction_row> in_flight_transaction(tx_t& tx, const std::string& payment_id) {
  auto r = tx.exec_params(cat({"SELECT ", transaction_cols, " FROM payments.payment_transactions"
                               " WHERE payment_id = $1::uuid AND transaction_status IN ('pending', 'processing')"}),
                          payment_id);
  return first_row(r, transaction_columns);
}

std::vector<transaction_row> transactions_of(tx_t& tx, const std::string& payment_id) {
  auto r = db::exec_hot(tx, cat({"SELECT ", transaction_cols, " FROM payments.payment_transactions"
                               " WHERE payment_id = $1::uuid ORDER BY created_at, transaction_id"}),
                        payment_id);
  return all_rows(r, transaction_columns);
}

void remember_pending_reference(tx_t& tx, const std::string& transaction_id, const std::string& reference) {
  db::exec_hot(tx, "UPDATE payments.payment_transactions SET gateway_transaction_id = $2, updated_at = now()"
                 " WHERE transaction_id = $1::uuid AND transaction_status IN ('pending', 'processing')"
                 " AND gateway_transaction_id IS DISTINCT FROM $2",
                 transaction_id, reference);
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
  return read_row(r[0], refund_columns);
}

std::optional<refund_row> refund_by_transaction(tx_t& tx, const std::string& transaction_id) {
  auto r = db::exec_hot(tx, cat({"SELECT ", refund_cols, " FROM payments.payment_refunds"
                               " WHERE transaction_id = $1::uuid"}),
                          transaction_id);
  return first_row(r, refund_columns);
}

std::vector<refund_row> refunds_of(tx_t& tx, const std::string& payment_id) {
  auto r = db::exec_hot(tx, cat({"SELECT ", refund_cols, " FROM payments.payment_refunds"
                               " WHERE payment_id = $1::uuid ORDER BY requested_at, refund_id"}),
                        payment_id);
  return all_rows(r, refund_columns);
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
