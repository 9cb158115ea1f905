// SQL of the order schema (see order_store.hpp). Parameterized statements only; the few dynamic
// parts (sort column, filters) are chosen from fixed texts, never from caller input.
#include "order/order_store.hpp"

#include <fmt/format.h>

#include "order/order_pricing.hpp"
#include "order/timeline.hpp"
#include "db/hot_statement.hpp"
#include "db/outbox.hpp"
#include "mercato/event.hpp"
#include "runtime/uuid.hpp"

namespace mercato::order {
namespace {

const db::outbox& orders_outbox() {
  static const db::outbox box{"orders"};
  return box;
}

std::string text(const pqxx::field& f) { return f.is_null() ? std::string{} : std::string{f.c_str()}; }
money::cents cents(const pqxx::field& f) {
  return f.is_null() ? 0 : money::parse_decimal(f.c_str()).value_or(0);
}
nlohmann::json json_of(const pqxx::field& f) {
  if (f.is_null()) return nullptr;
  auto j = nlohmann::json::parse(f.c_str(), nullptr, false);
  return j.is_discarded() ? nlohmann::json() : j;
}
std::vector<std::string> text_array(const pqxx::field& f) {
  // json form (array_to_json) keeps quoting simple
  std::vector<std::string> out;
  auto j = json_of(f);
  if (j.is_array())
    for (const auto& x : j)
      if (x.is_string()) out.push_back(x.get<std::string>());
  return out;
}

const std::string order_columns = [] {
  std::string s =
      "o.order_id::text AS order_id, o.order_number, o.customer_id, o.customer_name, o.customer_email, "
      "o.channel, o.channel_name, o.channel_order_id, o.status, o.payment_status, o.fulfillment_status, "
      "o.return_status, o.fraud_decision, o.fraud_score, o.fraud_check_id, o.currency, o.subtotal, "
      "o.discount_amount, o.shipping_cost, o.tax_amount, o.total_amount, o.amount_authorized, "
      "o.amount_captured, o.amount_refunded, array_to_json(o.promotion_codes) AS promotion_codes, "
      "o.points_redeemed, o.store_credit_used, o.shipping_service_level, o.carrier_code, "
      "o.shipping_address, o.billing_address, o.notes, o.is_gift, o.gift_message, o.gift_wrap_type, "
      "o.hide_prices, o.gift_receipt, o.scheduled_delivery_date::text AS scheduled_delivery_date, "
      "o.delivery_instructions, o.priority_level, o.is_split_order, o.parent_order_id::text AS parent_order_id, "
      "o.replacement_of::text AS replacement_of, o.cancellation_reason, o.cancelled_by, "
      "array_to_json(o.tags) AS tags, o.metadata, o.version, ";
  for (const char* c : {"payment_due_at", "review_due_at", "cancelled_at", "confirmed_at", "shipped_at",
                        "delivered_at", "created_at", "updated_at"})
    s += iso_sql(std::string{"o."} + c) + " AS " + c + ", ";
  s.resize(s.size() - 2);
  return s;
}();

order_record read_order(const pqxx::row& r) {
  order_record o;
  o.order_id = text(r["order_id"]);
  o.order_number = text(r["order_number"]);
  o.customer_id = text(r["customer_id"]);
  o.customer_name = text(r["customer_name"]);
  o.customer_email = text(r["customer_email"]);
  o.channel = text(r["channel"]);
  o.channel_name = text(r["channel_name"]);
  o.channel_order_id = text(r["channel_order_id"]);
  o.status = text(r["status"]);
  o.payment_status = text(r["payment_status"]);
  o.fulfillment_status = text(r["fulfillment_status"]);
  o.return_status = text(r["return_status"]);
  o.fraud_decision = text(r["fraud_decision"]);
  if (!r["fraud_score"].is_null()) o.fraud_score = r["fraud_score"].as<int64_t>();
  o.fraud_check_id = text(r["fraud_check_id"]);
  o.currency = text(r["currency"]);
  o.subtotal = cents(r["subtotal"]);
  o.discount_amount = cents(r["discount_amount"]);
  o.shipping_cost = cents(r["shipping_cost"]);
  o.tax_amount = cents(r["tax_amount"]);
  o.total_amount = cents(r["total_amount"]);
  o.amount_authorized = cents(r["amount_authorized"]);
  o.amount_captured = cents(r["amount_captured"]);
  o.amount_refunded = cents(r["amount_refunded"]);
  o.promotion_codes = text_array(r["promotion_codes"]);
  o.points_redeemed = r["points_redeemed"].as<int64_t>();
  o.store_credit_used = cents(r["store_credit_used"]);
  o.shipping_service_level = text(r["shipping_service_level"]);
  o.carrier_code = text(r["carrier_code"]);
  o.shipping_address = json_of(r["shipping_address"]);
  o.billing_address = json_of(r["billing_address"]);
  o.notes = text(r["notes"]);
  o.gift_options = {{"is_gift", r["is_gift"].as<bool>()},
                    {"gift_message", json_of(r["gift_message"]).is_null() && r["gift_message"].is_null()
                                         ? nlohmann::json()
                                         : nlohmann::json(text(r["gift_message"]))},
                    {"gift_wrap_type", r["gift_wrap_type"].is_null() ? nlohmann::json()
                                                                     : nlohmann::json(text(r["gift_wrap_type"]))},
                    {"hide_prices", r["hide_prices"].as<bool>()},
                    {"gift_receipt", r["gift_receipt"].as<bool>()}};
  o.scheduled_delivery_date = text(r["scheduled_delivery_date"]);
  o.delivery_instructions = text(r["delivery_instructions"]);
  o.priority_level = text(r["priority_level"]);
  o.is_split_order = r["is_split_order"].as<bool>();
  o.parent_order_id = text(r["parent_order_id"]);
  o.replacement_of = text(r["replacement_of"]);
  o.cancellation_reason = text(r["cancellation_reason"]);
  o.cancelled_by = text(r["cancelled_by"]);
  o.tags = text_array(r["tags"]);
  o.metadata = json_of(r["metadata"]);
  o.version = r["version"].as<int64_t>();
  o.payment_due_at = text(r["payment_due_at"]);
  o.review_due_at = text(r["review_due_at"]);
  o.cancelled_at = text(r["cancelled_at"]);
  o.confirmed_at = text(r["confirmed_at"]);
  o.shipped_at = text(r["shipped_at"]);
  o.delivered_at = text(r["delivered_at"]);
  o.created_at = text(r["created_at"]);
  o.updated_at = text(r["updated_at"]);
  return o;
}

void attach_lines(pqxx::work& tx, std::vector<order_record>& orders) {
  if (orders.empty()) return;
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& o : orders) ids.push_back(o.order_id);
  auto rows = tx.exec_params(
      "SELECT item_id::text, order_id::text, line_number, product_id, variant_id, bundle_components, sku, "
      "product_name, category, quantity, unit_price, discount_amount, tax_amount, total_price, "
      "quantity_shipped, quantity_delivered, quantity_returned FROM orders.order_items "
      "WHERE order_id IN (SELECT jsonb_array_elements_text($1::jsonb)::uuid) ORDER BY order_id, line_number",
      ids.dump());
  for (const auto& r : rows) {
    order_line l;
    l.item_id = text(r[0]);
    const std::string oid = text(r[1]);
    l.line_number = r[2].as<int>();
    l.product_id = text(r[3]);
    l.variant_id = text(r[4]);
    l.bundle_components = json_of(r[5]);
    l.sku = text(r[6]);
    l.product_name = text(r[7]);
    l.category = text(r[8]);
    l.quantity = r[9].as<int64_t>();
    l.unit_price = cents(r[10]);
    l.discount_amount = cents(r[11]);
    l.tax_amount = cents(r[12]);
    l.total_price = cents(r[13]);
    l.quantity_shipped = r[14].as<int64_t>();
    l.quantity_delivered = r[15].as<int64_t>();
    l.quantity_returned = r[16].as<int64_t>();
    for (auto& o : orders)
      if (o.order_id == oid) {
        o.lines.push_back(std::move(l));
        break;
      }
  }
}

bool looks_like_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

// WHERE clause + params (as one jsonb document, so the statement text stays fixed per filter set).
std::string filter_sql(const order_filter& f) {
  std::string w = " WHERE $1::jsonb IS NOT NULL";  // $1 always typed, even without filters
  if (!f.statuses.empty()) w += " AND o.status IN (SELECT jsonb_array_elements_text($1::jsonb->'statuses'))";
  if (!f.customer_id.empty()) w += " AND o.customer_id = $1::jsonb->>'customer_id'";
  if (!f.channel.empty())
    w += " AND (o.channel = $1::jsonb->>'channel' OR o.channel_name = $1::jsonb->>'channel')";
  if (!f.payment_status.empty()) w += " AND o.payment_status = $1::jsonb->>'payment_status'";
  if (!f.fulfillment_status.empty()) w += " AND o.fulfillment_status = $1::jsonb->>'fulfillment_status'";
  if (!f.tag.empty()) w += " AND ($1::jsonb->>'tag') = ANY(o.tags)";
  if (!f.search.empty())
    w += " AND (o.order_number ILIKE '%' || ($1::jsonb->>'search') || '%' OR o.customer_name ILIKE '%' || "
         "($1::jsonb->>'search') || '%' OR o.customer_email ILIKE '%' || ($1::jsonb->>'search') || '%')";
  if (!f.date_from.empty()) w += " AND o.created_at >= ($1::jsonb->>'date_from')::timestamptz";
  if (!f.date_to.empty()) w += " AND o.created_at <= ($1::jsonb->>'date_to')::timestamptz";
  return w;
}
std::string filter_params(const order_filter& f) {
  return nlohmann::json{{"statuses", f.statuses},       {"customer_id", f.customer_id},
                        {"channel", f.channel},         {"payment_status", f.payment_status},
                        {"fulfillment_status", f.fulfillment_status},
                        {"tag", f.tag},                 {"search", f.search},
                        {"date_from", f.date_from},     {"date_to", f.date_to}}
      .dump();
}

saga_row read_saga(const pqxx::row& r) {
  saga_row s;
  s.saga_id = text(r["saga_id"]);
  s.order_id = text(r["order_id"]);
  s.saga_type = text(r["saga_type"]);
  s.state = text(r["state"]);
  s.current_step = text(r["current_step"]);
  s.step_attempts = r["step_attempts"].as<int64_t>();
  s.next_attempt_at = text(r["next_attempt_at"]);
  s.deadline_at = text(r["deadline_at"]);
  s.lease_owner = text(r["lease_owner"]);
  s.lease_until = text(r["lease_until"]);
  s.last_error = text(r["last_error"]);
  s.created_at = text(r["created_at"]);
  s.updated_at = text(r["updated_at"]);
  s.context = json_of(r["context"]);
  s.deadline_passed = r["deadline_passed"].as<bool>();
  return s;
}

const std::string saga_columns =
    "s.saga_id::text AS saga_id, s.order_id::text AS order_id, s.saga_type, s.state, s.current_step, "
    "s.step_attempts, " + iso_sql("s.next_attempt_at") + " AS next_attempt_at, " +
    iso_sql("s.deadline_at") + " AS deadline_at, s.lease_owner, " + iso_sql("s.lease_until") +
    " AS lease_until, s.last_error, " + iso_sql("s.created_at") + " AS created_at, " +
    iso_sql("s.updated_at") + " AS updated_at, s.context, "
    "coalesce(s.deadline_at <= now(), false) AS deadline_passed";

shipment_row read_shipment(const pqxx::row& r) {
  shipment_row s;
  s.shipment_id = text(r["shipment_id"]);
  s.order_id = text(r["order_id"]);
  s.shipment_number = r["shipment_number"].as<int64_t>();
  s.warehouse_id = text(r["warehouse_id"]);
  s.status = text(r["status"]);
  s.carrier = text(r["carrier"]);
  s.tracking_number = text(r["tracking_number"]);
  s.shipped_at = text(r["shipped_at"]);
  s.estimated_delivery = text(r["estimated_delivery"]);
  s.actual_delivery = text(r["actual_delivery"]);
  s.capture_transaction_id = text(r["capture_transaction_id"]);
  s.captured_amount = cents(r["captured_amount"]);
  s.on_hold = r["on_hold"].as<bool>();
  s.metadata = json_of(r["metadata"]);
  s.created_at = text(r["created_at"]);
  s.updated_at = text(r["updated_at"]);
  auto items = json_of(r["items"]);
  if (items.is_array())
    for (const auto& i : items) s.items.push_back({i.value("item_id", ""), i.value("quantity", int64_t{0})});
  return s;
}

const std::string shipment_columns =
    "p.shipment_id::text AS shipment_id, p.order_id::text AS order_id, p.shipment_number, p.warehouse_id, "
    "p.status, p.carrier, p.tracking_number, " + iso_sql("p.shipped_at") + " AS shipped_at, " +
    iso_sql("p.estimated_delivery") + " AS estimated_delivery, " + iso_sql("p.actual_delivery") +
    " AS actual_delivery, p.capture_transaction_id, p.captured_amount, p.on_hold, p.metadata, " +
    iso_sql("p.created_at") + " AS created_at, " + iso_sql("p.updated_at") + " AS updated_at, "
    "(SELECT coalesce(json_agg(json_build_object('item_id', i.item_id::text, 'quantity', i.quantity) "
    "ORDER BY i.item_id), '[]') FROM orders.partial_shipment_items i WHERE i.shipment_id = p.shipment_id) AS items";

}  // namespace

std::string iso_sql(const std::string& column) {
  return "to_char(" + column + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
}

nlohmann::json item_row(const order_line& l) {
  return {{"item_id", l.item_id},
          {"line_number", l.line_number},
          {"product_id", l.product_id},
          {"variant_id", l.variant_id.empty() ? nlohmann::json() : nlohmann::json(l.variant_id)},
          {"bundle_components", l.bundle_components},
          {"sku", l.sku},
          {"product_name", l.product_name},
          {"category", l.category},
          {"quantity", l.quantity},
          {"unit_price", money::format(l.unit_price)},
          {"discount_amount", money::format(l.discount_amount)},
          {"tax_amount", money::format(l.tax_amount)},
          {"total_price", money::format(l.total_price)}};
}

const db::idempotency_store& order_keys() {
  static const db::idempotency_store keys{"orders"};
  return keys;
}

nlohmann::json placement_doc(const order_record& o, const std::string& saga_id, const nlohmann::json& context,
                             const saga_lease& lease, const nlohmann::json& events, const key_claim* claim) {
  nlohmann::json lines = nlohmann::json::array();
  for (const auto& l : o.lines)
    lines.push_back(item_row(l));
  const auto& g = o.gift_options.is_object() ? o.gift_options : nlohmann::json::object();
  nlohmann::json doc = {
      {"order_id", o.order_id},
      {"customer_id", o.customer_id},
      {"customer_name", o.customer_name},
      {"customer_email", o.customer_email},
      {"channel", o.channel},
      {"channel_name", o.channel_name},
      {"channel_order_id", o.channel_order_id.empty() ? nlohmann::json() : nlohmann::json(o.channel_order_id)},
      {"payment_status", o.payment_status},
      {"currency", o.currency},
      {"subtotal", money::format(o.subtotal)},
      {"discount_amount", money::format(o.discount_amount)},
      {"shipping_cost", money::format(o.shipping_cost)},
      {"tax_amount", money::format(o.tax_amount)},
      {"total_amount", money::format(o.total_amount)},
      {"promotion_codes", o.promotion_codes},
      {"points_redeemed", o.points_redeemed},
      {"store_credit_used", money::format(o.store_credit_used)},
      {"shipping_service_level", o.shipping_service_level},
      {"carrier_code", o.carrier_code},
      {"shipping_address", o.shipping_address},
      {"billing_address", o.billing_address},
      {"notes", o.notes.empty() ? nlohmann::json() : nlohmann::json(o.notes)},
      {"is_gift", g.value("is_gift", false)},
      {"gift_message", g.contains("gift_message") && g["gift_message"].is_string() ? g["gift_message"] : nlohmann::json()},
      {"gift_wrap_type", g.contains("gift_wrap_type") && g["gift_wrap_type"].is_string() ? g["gift_wrap_type"] : nlohmann::json()},
      {"hide_prices", g.value("hide_prices", false)},
      {"gift_receipt", g.value("gift_receipt", false)},
      {"scheduled_delivery_date", o.scheduled_delivery_date.empty() ? nlohmann::json() : nlohmann::json(o.scheduled_delivery_date)},
      {"delivery_instructions", o.delivery_instructions.empty() ? nlohmann::json() : nlohmann::json(o.delivery_instructions)},
      {"priority_level", o.priority_level},
      {"tags", o.tags},
      {"metadata", o.metadata},
      {"lines", lines},
      {"saga_id", saga_id},
      {"context", context},
      {"lease_owner", lease.owner},
      {"lease_s", lease.seconds},
      {"timeline_id", uuid_v4()},
      {"events", events.is_array() ? events : nlohmann::json::array()},
      {"items_count", o.lines.size()}};
  if (claim) doc["claim"] = db::idempotency_store::claim_json(claim->key, claim->endpoint, claim->fingerprint, claim->answer);
  return doc;
}

std::vector<std::optional<placed_stamp>> insert_placed_orders(pqxx::transaction_base& tx, const nlohmann::json& docs) {
  // `n` numbers the documents and `ok` keeps those without a key or whose key `k` claimed; every
  // insert reads `ok`, so a document whose key exists writes nothing. The velocity count `v` sees
  // the statement's snapshot (never these orders) plus the customer's earlier documents here, as
  // if they had been placed one after the other. The cap is written into the text, not bound: a
  // bound LIMIT made custom plans look cheaper than the cached generic one, so PostgreSQL kept
  // planning the statement anew (a quarter of its calls, bench/pg_profile.sh).
  static const std::string cap = std::to_string(recent_orders_cap);
  static const std::string sql =
      "WITH d AS (SELECT x.j, x.n FROM mercato.batch_items($1::jsonb) AS x(j, n)), "
      "k AS (" + order_keys().claim_new_rows_sql("d.j->'claim'", "d") + "), "
      "ok AS MATERIALIZED (SELECT d.j, d.n FROM d WHERE NOT d.j ? 'claim' OR d.j->'claim'->>'key' IN (SELECT key FROM k)), "
      "v AS (SELECT ok.n, least(" + cap + ", (SELECT count(*) FROM (SELECT 1 FROM orders.orders WHERE customer_id = ok.j->>'customer_id' "
      "  AND created_at >= now() - interval '24 hours' LIMIT " + cap + ") r) "
      "  + count(*) OVER (PARTITION BY ok.j->>'customer_id' ORDER BY ok.n) - 1) AS c FROM ok), "
      "o AS (INSERT INTO orders.orders (order_id, order_number, customer_id, customer_name, customer_email, "
      "  channel, channel_name, channel_order_id, payment_status, currency, subtotal, discount_amount, "
      "  shipping_cost, tax_amount, total_amount, promotion_codes, points_redeemed, store_credit_used, "
      "  shipping_service_level, carrier_code, shipping_address, billing_address, notes, is_gift, gift_message, "
      "  gift_wrap_type, hide_prices, gift_receipt, scheduled_delivery_date, delivery_instructions, "
      "  priority_level, tags, metadata) "
      " SELECT (j->>'order_id')::uuid, 'ORD-' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD') || '-' || "
      "  lpad(nextval('orders.order_number_seq')::text, 6, '0'), j->>'customer_id', j->>'customer_name', "
      "  j->>'customer_email', j->>'channel', j->>'channel_name', j->>'channel_order_id', j->>'payment_status', "
      "  j->>'currency', (j->>'subtotal')::numeric, (j->>'discount_amount')::numeric, "
      "  (j->>'shipping_cost')::numeric, (j->>'tax_amount')::numeric, (j->>'total_amount')::numeric, "
      "  ARRAY(SELECT jsonb_array_elements_text(j->'promotion_codes')), (j->>'points_redeemed')::bigint, "
      "  (j->>'store_credit_used')::numeric, j->>'shipping_service_level', nullif(j->>'carrier_code', ''), "
      "  j->'shipping_address', j->'billing_address', j->>'notes', (j->>'is_gift')::boolean, "
      "  j->>'gift_message', j->>'gift_wrap_type', (j->>'hide_prices')::boolean, (j->>'gift_receipt')::boolean, "
      "  (j->>'scheduled_delivery_date')::date, j->>'delivery_instructions', j->>'priority_level', "
      "  ARRAY(SELECT jsonb_array_elements_text(j->'tags')), j->'metadata' FROM ok ORDER BY ok.n "
      " RETURNING order_id, order_number, created_at), "
      "i AS (INSERT INTO orders.order_items (item_id, order_id, line_number, product_id, variant_id, "
      "  bundle_components, sku, product_name, category, quantity, unit_price, discount_amount, tax_amount, "
      "  total_price) "
      " SELECT (l->>'item_id')::uuid, o.order_id, (l->>'line_number')::int, l->>'product_id', "
      "  l->>'variant_id', nullif(l->'bundle_components', 'null'::jsonb), l->>'sku', l->>'product_name', "
      "  l->>'category', (l->>'quantity')::int, (l->>'unit_price')::numeric, (l->>'discount_amount')::numeric, "
      "  (l->>'tax_amount')::numeric, (l->>'total_price')::numeric "
      " FROM ok JOIN o ON o.order_id = (ok.j->>'order_id')::uuid, jsonb_array_elements(ok.j->'lines') AS l), "
      "s AS (INSERT INTO orders.sagas (saga_id, order_id, saga_type, state, current_step, context, lease_owner, "
      "  lease_until) SELECT (j->>'saga_id')::uuid, o.order_id, 'place_order', 'running', "
      "  'fraud_check', (j->'context') || jsonb_build_object('order_count_24h', v.c), j->>'lease_owner', "
      "  now() + make_interval(secs => (j->>'lease_s')::int) "
      " FROM ok JOIN o ON o.order_id = (ok.j->>'order_id')::uuid JOIN v ON v.n = ok.n), "
      "t AS (INSERT INTO orders.order_timeline (event_id, order_id, event_type, event_description, event_data) "
      " SELECT (j->>'timeline_id')::uuid, o.order_id, 'order_created', 'Order placed', "
      "  jsonb_build_object('total_amount', j->>'total_amount', 'items_count', j->'items_count') "
      " FROM ok JOIN o ON o.order_id = (ok.j->>'order_id')::uuid), "
      "ob AS (" + orders_outbox().insert_events_sql(
          "SELECT x.e || jsonb_build_object('payload', ((x.e->'payload') || "
          " jsonb_build_object('order_number', o.order_number))::text), ROW(ok.n, x.k) "
          "FROM ok JOIN o ON o.order_id = (ok.j->>'order_id')::uuid, "
          " jsonb_array_elements(ok.j->'events') WITH ORDINALITY AS x(e, k)") + ") "
      "SELECT ok.n, o.order_number, " + iso_sql("o.created_at") + ", v.c "
      "FROM ok JOIN o ON o.order_id = (ok.j->>'order_id')::uuid JOIN v ON v.n = ok.n";
  auto rows = db::exec_hot(tx, sql, docs.dump());
  std::vector<std::optional<placed_stamp>> out(docs.size());
  for (const auto& r : rows) {
    const auto i = r[0].as<size_t>() - 1;
    if (i < out.size()) out[i] = placed_stamp{text(r[1]), text(r[2]), r[3].as<int64_t>()};
  }
  return out;
}

std::optional<placed_stamp> find_placed_order(pqxx::transaction_base& tx, const std::string& order_id,
                                              const std::string& saga_id) {
  static const std::string sql =
      "SELECT o.order_number, " + iso_sql("o.created_at") + ", coalesce((s.context->>'order_count_24h')::bigint, 0) "
      "FROM orders.orders o JOIN orders.sagas s ON s.order_id = o.order_id "
      "WHERE o.order_id = $1::uuid AND s.saga_id = $2::uuid";
  auto rows = tx.exec_params(sql, order_id, saga_id);
  if (rows.empty()) return std::nullopt;
  return placed_stamp{text(rows[0][0]), text(rows[0][1]), rows[0][2].as<int64_t>()};
}

std::optional<int64_t> insert_placed_order(pqxx::transaction_base& tx, order_record& o, const std::string& saga_id,
                                           const nlohmann::json& context, const saga_lease& lease,
                                           const nlohmann::json& events, const key_claim* claim) {
  auto placed =
      insert_placed_orders(tx, nlohmann::json::array({placement_doc(o, saga_id, context, lease, events, claim)}));
  if (!placed[0]) return std::nullopt;
  o.order_number = placed[0]->order_number;
  o.created_at = placed[0]->created_at;
  o.updated_at = o.created_at;
  return placed[0]->order_count_24h;
}

nlohmann::json outbox_row(const std::string& name, const nlohmann::json& payload, const std::string& order_id) {
  // make_event's fields without the payload's text: the statement writes the payload's JSON as
  // text into the outbox row (db/outbox.hpp), adding what only it knows (the order number).
  const event e = make_event("order", name, {}, order_id);
  return {{"event_id", e.event_id},         {"name", e.name},           {"publisher", e.publisher},
          {"correlation_id", e.correlation_id}, {"payload", payload}, {"aggregate_id", order_id},
          {"occurred_at", e.occurred_at}};
}

nlohmann::json confirmation_doc(const order_record& o, const std::string& saga_id, const nlohmann::json& context,
                                const std::vector<step_log>& steps, const nlohmann::json& events) {
  nlohmann::json st = nlohmann::json::array();
  for (const auto& s : steps)
    st.push_back({{"step", s.step}, {"direction", s.direction}, {"attempt", s.attempt}, {"status", s.status},
                  {"key", s.key}, {"result", s.result}, {"error", s.error}});
  return {{"order_id", o.order_id},
          {"saga_id", saga_id},
          {"payment_status", o.payment_status},
          {"amount_authorized", money::format(o.amount_authorized)},
          {"amount_captured", money::format(o.amount_captured)},
          {"fraud_decision", o.fraud_decision},
          {"fraud_score", o.fraud_score.value_or(-1)},
          {"fraud_check_id", o.fraud_check_id},
          {"context", context},
          {"steps", st},
          {"events", events},
          {"timeline_id", uuid_v4()}};
}

std::vector<std::optional<confirmed_stamp>> commit_confirmations(pqxx::transaction_base& tx,
                                                                 const nlohmann::json& docs) {
  // `n` numbers the documents; every part joins the orders that `o` confirmed, so an order that
  // was no longer pending writes nothing. The outbox rows carry the columns db::outbox::enqueue
  // writes. Step numbers continue each saga's log (max(seq) per saga, read before this statement).
  // `(status = 'pending') IS TRUE` is the pending test in a form no index answers: a generic plan
  // otherwise read every pending order through orders_status_created to find the batch's few,
  // instead of probing the primary key (tests: "order store: a batch of confirmations …").
  auto rows = db::exec_hot(tx,
      "WITH d AS (SELECT x.j, x.n FROM mercato.batch_items($1::jsonb) AS x(j, n)), "
      "o AS (UPDATE orders.orders SET status = 'confirmed', payment_status = d.j->>'payment_status', "
      "  amount_authorized = (d.j->>'amount_authorized')::numeric, amount_captured = (d.j->>'amount_captured')::numeric, "
      "  fraud_decision = nullif(d.j->>'fraud_decision', ''), fraud_score = nullif((d.j->>'fraud_score')::int, -1), "
      "  fraud_check_id = nullif(d.j->>'fraud_check_id', ''), payment_due_at = NULL, review_due_at = NULL, "
      "  confirmed_at = coalesce(confirmed_at, now()), version = version + 1, updated_at = now() "
      "  FROM d WHERE order_id = (d.j->>'order_id')::uuid AND (status = 'pending') IS TRUE RETURNING d.n, "
      "  " + iso_sql("confirmed_at") + " AS confirmed_at, " + iso_sql("updated_at") + " AS updated_at), "
      "c AS (SELECT d.j, d.n FROM d JOIN o ON o.n = d.n), "
      "s AS (UPDATE orders.sagas SET state = 'completed', current_step = 'completed', context = c.j->'context', "
      "  last_error = NULL, lease_owner = NULL, lease_until = NULL, updated_at = now() "
      "  FROM c WHERE saga_id = (c.j->>'saga_id')::uuid), "
      "st AS (INSERT INTO orders.saga_steps (saga_id, seq, step, direction, attempt, status, idempotency_key, "
      "  result, error, finished_at) "
      "  SELECT (c.j->>'saga_id')::uuid, coalesce((SELECT max(seq) FROM orders.saga_steps WHERE saga_id = "
      "  (c.j->>'saga_id')::uuid), 0) + x.k, x.e->>'step', x.e->>'direction', (x.e->>'attempt')::int, "
      "  x.e->>'status', x.e->>'key', nullif(x.e->'result', 'null'::jsonb), nullif(x.e->>'error', ''), now() "
      "  FROM c, jsonb_array_elements(c.j->'steps') WITH ORDINALITY AS x(e, k)), "
      "t AS (INSERT INTO orders.order_timeline (event_id, order_id, event_type, event_description, event_data) "
      "  SELECT (c.j->>'timeline_id')::uuid, (c.j->>'order_id')::uuid, 'order_confirmed', 'Order confirmed', "
      "  jsonb_build_object('payment_status', c.j->>'payment_status') FROM c), "
      "ob AS (" + orders_outbox().insert_events_sql(
          "SELECT x.e || jsonb_build_object('payload', (x.e->'payload')::text), ROW(c.n, x.k) "
          "FROM c, jsonb_array_elements(c.j->'events') WITH ORDINALITY AS x(e, k)") + ") "
      "SELECT n, confirmed_at, updated_at FROM o",
      docs.dump());
  // The stored timestamps (rendered as every read renders them), so the placement's answer and a
  // later read of the order are the same document.
  std::vector<std::optional<confirmed_stamp>> out(docs.size());
  for (const auto& r : rows) {
    const auto n = r[0].as<size_t>();
    if (n >= 1 && n <= out.size()) out[n - 1] = confirmed_stamp{r[1].as<std::string>(), r[2].as<std::string>()};
  }
  return out;
}

std::optional<order_record> load_order(pqxx::work& tx, const std::string& ref, bool lock) {
  if (ref.empty() || ref.size() > 100) return std::nullopt;
  const bool by_id = looks_like_uuid(ref);
  std::string sql = "SELECT " + order_columns + " FROM orders.orders o WHERE " +
                    (by_id ? std::string{"o.order_id = $1::uuid"} : std::string{"o.order_number = $1"}) +
                    (lock ? " FOR UPDATE" : "");
  auto rows = tx.exec_params(sql, ref);
  if (rows.empty()) return std::nullopt;
  std::vector<order_record> v{read_order(rows[0])};
  attach_lines(tx, v);
  return std::move(v[0]);
}

std::string find_channel_order(pqxx::work& tx, const std::string& channel, const std::string& channel_name,
                               const std::string& channel_order_id) {
  auto rows = tx.exec_params(
      "SELECT order_id::text FROM orders.orders WHERE channel = $1 AND channel_name = $2 AND channel_order_id = $3",
      channel, channel_name, channel_order_id);
  return rows.empty() ? std::string{} : text(rows[0][0]);
}

std::vector<order_record> list_orders(pqxx::work& tx, const order_filter& f, bool with_lines) {
  std::string sort = "o.created_at";
  if (f.sort_by == "total_amount") sort = "o.total_amount";
  else if (f.sort_by == "status") sort = "o.status";
  else if (f.sort_by == "order_number") sort = "o.order_number";
  const char* dir = f.ascending ? " ASC" : " DESC";
  std::string sql = "SELECT " + order_columns + " FROM orders.orders o" + filter_sql(f) + " ORDER BY " +
                    sort + dir + ", o.order_id" + dir + " OFFSET $2 LIMIT $3";
  auto rows = tx.exec_params(sql, filter_params(f), f.skip, f.limit);
  std::vector<order_record> out;
  for (const auto& r : rows) out.push_back(read_order(r));
  if (with_lines) attach_lines(tx, out);
  return out;
}

int64_t count_orders(pqxx::work& tx, const order_filter& f) {
  return tx.exec_params1("SELECT count(*) FROM orders.orders o" + filter_sql(f), filter_params(f))[0]
      .as<int64_t>();
}

int64_t count_recent(pqxx::work& tx, const std::string& customer_id, int64_t hours,
                     const std::string& exclude_order_id) {
  // Counted up to recent_orders_cap: the fraud velocity signal saturates long before, and a busy
  // account must not make every placement scan its whole day.
  return db::exec_hot1(tx,
                       "SELECT count(*) FROM (SELECT 1 FROM orders.orders WHERE customer_id = $1 "
                       "AND created_at >= now() - make_interval(hours => $2) AND order_id::text <> $3 LIMIT $4) r",
                       customer_id, static_cast<int>(hours), exclude_order_id, recent_orders_cap)[0]
      .as<int64_t>();
}

void update_order(pqxx::work& tx, const std::string& order_id, const order_update& u) {
  nlohmann::json d = nlohmann::json::object();
  std::string set = "version = version + 1, updated_at = now()";
  auto field = [&](const char* col, const std::string& expr, nlohmann::json value) {
    d[col] = std::move(value);
    set += fmt::format(", {} = {}", col, expr);
  };
  if (u.status) field("status", "$2::jsonb->>'status'", *u.status);
  if (u.payment_status) field("payment_status", "$2::jsonb->>'payment_status'", *u.payment_status);
  if (u.fulfillment_status) field("fulfillment_status", "$2::jsonb->>'fulfillment_status'", *u.fulfillment_status);
  if (u.amount_authorized)
    field("amount_authorized", "($2::jsonb->>'amount_authorized')::numeric", money::format(*u.amount_authorized));
  if (u.amount_captured)
    field("amount_captured", "($2::jsonb->>'amount_captured')::numeric", money::format(*u.amount_captured));
  if (u.amount_refunded)
    field("amount_refunded", "($2::jsonb->>'amount_refunded')::numeric", money::format(*u.amount_refunded));
  if (u.fraud_decision) field("fraud_decision", "$2::jsonb->>'fraud_decision'", *u.fraud_decision);
  if (u.fraud_score) field("fraud_score", "($2::jsonb->>'fraud_score')::int", *u.fraud_score);
  if (u.fraud_check_id) field("fraud_check_id", "nullif($2::jsonb->>'fraud_check_id', '')", *u.fraud_check_id);
  if (u.payment_due_in_seconds)
    field("payment_due_at",
          "CASE WHEN ($2::jsonb->>'payment_due_at')::bigint < 0 THEN NULL ELSE now() + "
          "make_interval(secs => ($2::jsonb->>'payment_due_at')::bigint) END",
          std::to_string(*u.payment_due_in_seconds));
  if (u.review_due_in_seconds)
    field("review_due_at",
          "CASE WHEN ($2::jsonb->>'review_due_at')::bigint < 0 THEN NULL ELSE now() + "
          "make_interval(secs => ($2::jsonb->>'review_due_at')::bigint) END",
          std::to_string(*u.review_due_in_seconds));
  if (u.set_confirmed_at) set += ", confirmed_at = coalesce(confirmed_at, now())";
  if (u.set_shipped_at) set += ", shipped_at = coalesce(shipped_at, now())";
  if (u.set_delivered_at) set += ", delivered_at = coalesce(delivered_at, now())";
  if (u.cancellation_reason) {
    field("cancellation_reason", "$2::jsonb->>'cancellation_reason'", *u.cancellation_reason);
    field("cancelled_by", "nullif($2::jsonb->>'cancelled_by', '')", u.cancelled_by);
    set += ", cancelled_at = coalesce(cancelled_at, now())";
  }
  if (u.shipping_address) field("shipping_address", "$2::jsonb->'shipping_address'", *u.shipping_address);
  if (u.billing_address) field("billing_address", "$2::jsonb->'billing_address'", *u.billing_address);
  if (u.gift_options) {
    const auto& g = *u.gift_options;
    d["g"] = g;
    set += ", is_gift = coalesce(($2::jsonb->'g'->>'is_gift')::boolean, is_gift)"
           ", gift_message = coalesce($2::jsonb->'g'->>'gift_message', gift_message)"
           ", gift_wrap_type = coalesce($2::jsonb->'g'->>'gift_wrap_type', gift_wrap_type)"
           ", hide_prices = coalesce(($2::jsonb->'g'->>'hide_prices')::boolean, hide_prices)"
           ", gift_receipt = coalesce(($2::jsonb->'g'->>'gift_receipt')::boolean, gift_receipt)";
  }
  if (u.notes) field("notes", "$2::jsonb->>'notes'", *u.notes);
  if (u.priority_level) field("priority_level", "$2::jsonb->>'priority_level'", *u.priority_level);
  if (u.scheduled_delivery_date)
    field("scheduled_delivery_date", "($2::jsonb->>'scheduled_delivery_date')::date", *u.scheduled_delivery_date);
  if (u.delivery_instructions)
    field("delivery_instructions", "$2::jsonb->>'delivery_instructions'", *u.delivery_instructions);
  // $2 only when a field reads it: the server refuses a bind with more parameters than the text uses.
  const std::string sql = "UPDATE orders.orders SET " + set + " WHERE order_id = $1::uuid";
  if (d.empty()) tx.exec_params(sql, order_id);
  else tx.exec_params(sql, order_id, d.dump());
}

// ---- sagas ----

std::string insert_saga(pqxx::work& tx, const std::string& order_id, const std::string& type,
                        const std::string& state, const nlohmann::json& context, const saga_lease& lease) {
  std::string id = uuid_v4();
  tx.exec_params(
      "INSERT INTO orders.sagas (saga_id, order_id, saga_type, state, context, lease_owner, lease_until) "
      "VALUES ($1::uuid, $2::uuid, $3, $4, $5::jsonb, nullif($6, ''), CASE WHEN $6 = '' THEN NULL ELSE "
      "now() + make_interval(secs => $7) END)",
      id, order_id, type, state, context.dump(), lease.owner, static_cast<int>(lease.seconds));
  return id;
}

void update_saga(pqxx::work& tx, const std::string& saga_id, const saga_update& u) {
  nlohmann::json d = {{"state", u.state},
                      {"current_step", u.current_step},
                      {"delay_ms", u.delay_ms},
                      {"deadline_s", u.deadline_s},
                      {"keep_lease", u.keep_lease}};
  std::string set =
      "updated_at = now(), state = coalesce(nullif($2::jsonb->>'state', ''), state), "
      "current_step = coalesce(nullif($2::jsonb->>'current_step', ''), current_step), "
      "next_attempt_at = CASE WHEN ($2::jsonb->>'delay_ms')::bigint >= 0 THEN now() + "
      "make_interval(secs => ($2::jsonb->>'delay_ms')::bigint / 1000.0) ELSE next_attempt_at END, "
      "deadline_at = CASE WHEN ($2::jsonb->>'deadline_s')::bigint >= 0 THEN now() + "
      "make_interval(secs => ($2::jsonb->>'deadline_s')::bigint) ELSE deadline_at END, "
      "lease_owner = CASE WHEN ($2::jsonb->>'keep_lease')::boolean THEN lease_owner ELSE NULL END, "
      "lease_until = CASE WHEN ($2::jsonb->>'keep_lease')::boolean THEN lease_until ELSE NULL END";
  if (u.attempts) {
    d["attempts"] = *u.attempts;
    set += ", step_attempts = ($2::jsonb->>'attempts')::int";
  }
  if (u.context) {
    d["context"] = *u.context;
    set += ", context = $2::jsonb->'context'";
  }
  if (u.last_error) {
    d["last_error"] = *u.last_error;
    set += ", last_error = nullif($2::jsonb->>'last_error', '')";
  }
  // completed and compensated are final: a late writer (a step landing after a cancel) never revives them
  tx.exec_params("UPDATE orders.sagas SET " + set +
                     " WHERE saga_id = $1::uuid AND state NOT IN ('completed', 'compensated')",
                 saga_id, d.dump());
}

void append_steps(pqxx::work& tx, const std::string& saga_id, const std::vector<step_log>& steps) {
  if (steps.empty()) return;
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& s : steps)
    arr.push_back({{"step", s.step},
                   {"direction", s.direction},
                   {"attempt", s.attempt},
                   {"status", s.status},
                   {"key", s.key},
                   {"result", s.result},
                   {"error", s.error}});
  tx.exec_params(
      "INSERT INTO orders.saga_steps (saga_id, seq, step, direction, attempt, status, idempotency_key, result, "
      "error, finished_at) "
      "SELECT $1::uuid, coalesce((SELECT max(seq) FROM orders.saga_steps WHERE saga_id = $1::uuid), 0) + n, "
      "e->>'step', e->>'direction', (e->>'attempt')::int, e->>'status', e->>'key', "
      "nullif(e->'result', 'null'::jsonb), nullif(e->>'error', ''), now() "
      "FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS x(e, n)",
      saga_id, arr.dump());
}

std::optional<saga_row> load_saga(pqxx::work& tx, const std::string& saga_id) {
  if (!looks_like_uuid(saga_id)) return std::nullopt;
  auto rows = tx.exec_params("SELECT " + saga_columns + " FROM orders.sagas s WHERE s.saga_id = $1::uuid", saga_id);
  if (rows.empty()) return std::nullopt;
  return read_saga(rows[0]);
}

saga_rewrite check_saga_rewrite(pqxx::work& tx, const std::string& saga_id, const std::string& owner,
                                int64_t attempts) {
  auto rows = tx.exec_params(
      "SELECT lease_owner IS NOT DISTINCT FROM $2 AS ours, step_attempts >= $3 AS landed "
      "FROM orders.sagas WHERE saga_id = $1::uuid FOR UPDATE",
      saga_id, owner, attempts);
  if (rows.empty()) return saga_rewrite::lease_gone;
  const bool ours = rows[0]["ours"].as<bool>();
  if (rows[0]["landed"].as<bool>()) {
    if (ours)
      tx.exec_params("UPDATE orders.sagas SET lease_owner = NULL, lease_until = NULL WHERE saga_id = $1::uuid",
                     saga_id);
    return saga_rewrite::landed_earlier;
  }
  return ours ? saga_rewrite::due : saga_rewrite::lease_gone;
}

std::vector<saga_row> sagas_of_order(pqxx::work& tx, const std::string& order_id) {
  auto rows = tx.exec_params(
      "SELECT " + saga_columns + " FROM orders.sagas s WHERE s.order_id = $1::uuid ORDER BY s.created_at, s.saga_id",
      order_id);
  std::vector<saga_row> out;
  for (const auto& r : rows) out.push_back(read_saga(r));
  return out;
}

std::optional<saga_row> live_saga(pqxx::work& tx, const std::string& order_id, const std::string& type,
                                  bool lock) {
  auto rows = tx.exec_params("SELECT " + saga_columns +
                                 " FROM orders.sagas s WHERE s.order_id = $1::uuid AND s.saga_type = $2 AND "
                                 "s.state NOT IN ('completed', 'compensated', 'failed')" +
                                 (lock ? std::string{" FOR UPDATE"} : std::string{}),
                             order_id, type);
  if (rows.empty()) return std::nullopt;
  return read_saga(rows[0]);
}

bool placement_in_progress(pqxx::work& tx, const std::string& order_id) {
  // The final states spelled out so that the probe uses sagas_live_per_order.
  return tx
      .exec_params1("SELECT EXISTS (SELECT 1 FROM orders.sagas WHERE order_id = $1::uuid AND saga_type = 'place_order'"
                    " AND state NOT IN ('completed', 'compensated', 'failed')"
                    " AND state IN ('running', 'compensating') AND next_attempt_at <= now())",
                    order_id)[0]
      .as<bool>();
}

nlohmann::json saga_steps_json(pqxx::work& tx, const std::string& saga_id) {
  auto rows = tx.exec_params(
      "SELECT seq, step, direction, attempt, status, idempotency_key, result, error, " + iso_sql("started_at") +
          ", " + iso_sql("finished_at") + " FROM orders.saga_steps WHERE saga_id = $1::uuid ORDER BY seq",
      saga_id);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rows)
    out.push_back({{"seq", r[0].as<int>()},
                   {"step", text(r[1])},
                   {"direction", text(r[2])},
                   {"attempt", r[3].as<int>()},
                   {"status", text(r[4])},
                   {"idempotency_key", text(r[5])},
                   {"result", json_of(r[6])},
                   {"error", r[7].is_null() ? nlohmann::json() : nlohmann::json(text(r[7]))},
                   {"started_at", text(r[8])},
                   {"finished_at", r[9].is_null() ? nlohmann::json() : nlohmann::json(text(r[9]))}});
  return out;
}

std::vector<saga_row> list_sagas(pqxx::work& tx, const std::string& state, const std::string& type,
                                 int64_t skip, int64_t limit) {
  auto rows = tx.exec_params("SELECT " + saga_columns +
                                 " FROM orders.sagas s WHERE ($1 = '' OR s.state = $1) AND ($2 = '' OR s.saga_type = $2) "
                                 "ORDER BY s.created_at DESC, s.saga_id OFFSET $3 LIMIT $4",
                             state, type, skip, limit);
  std::vector<saga_row> out;
  for (const auto& r : rows) out.push_back(read_saga(r));
  return out;
}

std::vector<saga_row> claim_due_sagas(pqxx::work& tx, const std::string& owner,
                                      const std::string& stale_owner_prefix, int64_t lease_s,
                                      int64_t limit) {
  auto rows = tx.exec_params(
      "WITH due AS (SELECT saga_id FROM orders.sagas "
      " WHERE ((state IN ('running', 'compensating') AND next_attempt_at <= now()) "
      "     OR (state IN ('waiting_review', 'waiting_payment') AND deadline_at <= now())) "
      "   AND (lease_until IS NULL OR lease_until < now() OR "
      "        (lease_owner LIKE $2 || '%' AND lease_owner <> $1)) "
      " ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED) "
      "UPDATE orders.sagas s SET lease_owner = $1, lease_until = now() + make_interval(secs => $3) "
      "FROM due WHERE s.saga_id = due.saga_id RETURNING " + saga_columns,
      owner, stale_owner_prefix, static_cast<int>(lease_s), limit);
  std::vector<saga_row> out;
  for (const auto& r : rows) out.push_back(read_saga(r));
  return out;
}

nlohmann::json render_saga(const saga_row& s) {
  auto opt = [](const std::string& v) { return v.empty() ? nlohmann::json() : nlohmann::json(v); };
  nlohmann::json ctx = s.context;
  if (ctx.is_object() && ctx.contains("payment")) ctx["payment"].erase("token");  // never echo card tokens
  return {{"saga_id", s.saga_id},         {"order_id", s.order_id},
          {"saga_type", s.saga_type},     {"state", s.state},
          {"current_step", s.current_step}, {"step_attempts", s.step_attempts},
          {"next_attempt_at", opt(s.next_attempt_at)}, {"deadline_at", opt(s.deadline_at)},
          {"last_error", opt(s.last_error)}, {"context", ctx},
          {"created_at", s.created_at},   {"updated_at", s.updated_at}};
}

// ---- tax rates ----

std::vector<tax_rate> load_tax_rates(pqxx::work& tx) {
  auto rows = tx.exec(
      "SELECT tax_rate_id::text, country, coalesce(region, ''), rate::text, name, " + iso_sql("effective_from") +
      ", coalesce(" + iso_sql("effective_to") + ", '') FROM orders.tax_rates ORDER BY country, region NULLS FIRST, effective_from");
  std::vector<tax_rate> out;
  for (const auto& r : rows) {
    tax_rate t;
    t.tax_rate_id = text(r[0]);
    t.country = text(r[1]);
    t.region = text(r[2]);
    t.rate_e5 = parse_rate_e5(text(r[3])).value_or(0);
    t.name = text(r[4]);
    t.effective_from = text(r[5]);
    t.effective_to = text(r[6]);
    out.push_back(std::move(t));
  }
  return out;
}

nlohmann::json render_tax_rate(const tax_rate& r) {
  return {{"tax_rate_id", r.tax_rate_id},
          {"id", r.tax_rate_id},
          {"country", r.country},
          {"region", r.region.empty() ? nlohmann::json() : nlohmann::json(r.region)},
          {"rate", nlohmann::json::parse(format_rate_e5(r.rate_e5))},
          {"name", r.name},
          {"effective_from", r.effective_from},
          {"effective_to", r.effective_to.empty() ? nlohmann::json() : nlohmann::json(r.effective_to)}};
}

int64_t pick_tax_rate(const std::vector<tax_rate>& rates, const std::string& country,
                      const std::string& region, const std::string& now_iso) {
  auto in_force = [&](const tax_rate& r) {
    return r.effective_from <= now_iso && (r.effective_to.empty() || now_iso < r.effective_to);
  };
  const tax_rate* country_default = nullptr;
  for (const auto& r : rates) {
    if (r.country != country || !in_force(r)) continue;
    if (!region.empty() && r.region == region) return r.rate_e5;
    if (r.region.empty()) country_default = &r;
  }
  return country_default ? country_default->rate_e5 : 0;
}

// ---- shipments ----

std::vector<shipment_row> load_shipments(pqxx::work& tx, const std::string& order_id) {
  auto rows = tx.exec_params("SELECT " + shipment_columns +
                                 " FROM orders.partial_shipments p WHERE p.order_id = $1::uuid ORDER BY p.shipment_number",
                             order_id);
  std::vector<shipment_row> out;
  for (const auto& r : rows) out.push_back(read_shipment(r));
  return out;
}

std::optional<shipment_row> load_shipment(pqxx::work& tx, const std::string& shipment_id, bool lock) {
  if (!looks_like_uuid(shipment_id)) return std::nullopt;
  auto rows = tx.exec_params("SELECT " + shipment_columns + " FROM orders.partial_shipments p WHERE p.shipment_id = $1::uuid" +
                                 (lock ? std::string{" FOR UPDATE OF p"} : std::string{}),
                             shipment_id);
  if (rows.empty()) return std::nullopt;
  return read_shipment(rows[0]);
}

nlohmann::json render_shipment(const shipment_row& s) {
  auto opt = [](const std::string& v) { return v.empty() ? nlohmann::json() : nlohmann::json(v); };
  nlohmann::json items = nlohmann::json::array();
  for (const auto& i : s.items) items.push_back({{"order_item_id", i.item_id}, {"item_id", i.item_id}, {"quantity", i.quantity}});
  return {{"shipment_id", s.shipment_id},
          {"order_id", s.order_id},
          {"shipment_number", s.shipment_number},
          {"warehouse_id", opt(s.warehouse_id)},
          {"tracking_number", opt(s.tracking_number)},
          {"carrier", opt(s.carrier)},
          {"shipped_at", opt(s.shipped_at)},
          {"estimated_delivery", opt(s.estimated_delivery)},
          {"actual_delivery", opt(s.actual_delivery)},
          {"status", s.status},
          {"on_hold", s.on_hold},
          {"captured_amount", money::to_json(s.captured_amount)},
          {"capture_transaction_id", opt(s.capture_transaction_id)},
          {"items", items},
          {"metadata", s.metadata},
          {"created_at", s.created_at},
          {"updated_at", s.updated_at}};
}

}  // namespace mercato::order
