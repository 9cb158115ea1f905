// place_replacement_order (returns' exchanges): a new order for lines of an original one, at 0.00,
// channel replacement, payment_status not_required, no fraud or payment step. The order id is
// derived from the reference (md5 → uuid), so every retry reserves under the same id:
//   read (replay by reference, the original, the lines) → inventory reserve_stock (all or nothing;
//   refused → insufficient_stock, nothing written) → ONE transaction: order confirmed + lines +
//   timeline + outbox order_created/order_confirmed (a concurrent twin loses on the unique
//   reference and answers the winner) → inventory confirm_reservations.
// A crash between the reservation and the commit leaves an active reservation that expires (30 min)
// or that the caller's retry (same reference, same id) picks up; a crash after the commit is
// repaired by the retry too: a replay re-sends confirm_reservations (idempotent).
#include <map>

#include <fmt/format.h>

#include "order/order_agent_state.hpp"
#include "order/timeline.hpp"
#include "runtime/agent_call.hpp"
#include "runtime/clock.hpp"
#include "runtime/db_call.hpp"
#include "runtime/uuid.hpp"

namespace mercato::order {
namespace {

struct replacement_plan {
  std::optional<order_record> existing;  // the order already placed under this reference
  bool original_found = false;
  input::issue_list issues;
  order_record draft;
};

void issue(input::issue_list& out, std::vector<std::string> loc, std::string msg, std::string type = "value_error") {
  http::validation_issue i;
  i.loc = std::move(loc);
  i.msg = std::move(msg);
  i.type = std::move(type);
  out.push_back(std::move(i));
}

failure invalid_failure_of(const input::issue_list& issues) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& i : issues) list.push_back({{"loc", i.loc}, {"msg", i.msg}, {"type", i.type}});
  return {failure_kind::invalid, "invalid", issues.front().msg, list.dump()};
}

std::optional<order_record> by_reference(pqxx::work& tx, const std::string& reference) {
  auto r = tx.exec_params("SELECT order_id::text FROM orders.orders WHERE replacement_reference = $1", reference);
  if (r.empty()) return std::nullopt;
  return load_order(tx, r[0][0].c_str());
}

const order_line* line_of(const order_record& o, const replacement_item& it) {
  for (const auto& l : o.lines) {
    if (!it.order_item_id.empty()) {
      if (it.order_item_id == l.item_id || it.order_item_id == std::to_string(l.line_number)) return &l;
    } else if (!it.product_id.empty() && (it.product_id == l.product_id || it.product_id == l.sku ||
                                          (!l.variant_id.empty() && it.product_id == l.variant_id))) {
      return &l;
    }
  }
  return nullptr;
}

replacement_plan plan_replacement(pqxx::work& tx, const place_replacement_order& msg) {
  replacement_plan p;
  p.existing = by_reference(tx, msg.reference);
  if (p.existing) return p;
  auto o = load_order(tx, msg.original_order_id);
  if (!o) return p;
  p.original_found = true;
  if (o->status == "pending" || o->status == "cancelled") {
    issue(p.issues, {"original_order_id"}, "Order in status '" + o->status + "' cannot be replaced");
    return p;
  }
  // one replacement line per original line (quantities of repeated items add up)
  std::map<int, int64_t> wanted;
  for (size_t n = 0; n < msg.items.size(); ++n) {
    const auto& it = msg.items[n];
    const std::string idx = std::to_string(n);
    const auto* l = line_of(*o, it);
    if (!l) {
      const bool by_item = !it.order_item_id.empty() || it.product_id.empty();
      issue(p.issues, {"items", idx, by_item ? "order_item_id" : "product_id"},
            by_item ? "Order item not found in the original order" : "Product is not part of the original order",
            "value_error.not_found");
      continue;
    }
    if (it.quantity < 1) {
      issue(p.issues, {"items", idx, "quantity"}, "ensure this value is greater than or equal to 1",
            "value_error.number.not_ge");
      continue;
    }
    wanted[l->line_number] += it.quantity;
    if (wanted[l->line_number] > l->quantity)
      issue(p.issues, {"items", idx, "quantity"},
            fmt::format("Quantity exceeds the original line {} (ordered {})", l->line_number, l->quantity));
  }
  if (!p.issues.empty()) return p;
  auto& d = p.draft;
  d.order_id = tx.exec_params1("SELECT md5('replacement:' || $1)::uuid::text", msg.reference)[0].c_str();
  d.customer_id = o->customer_id;
  d.customer_name = o->customer_name;
  d.customer_email = o->customer_email;
  d.channel = "replacement";
  d.status = "confirmed";
  d.payment_status = "not_required";
  d.currency = o->currency;
  d.shipping_service_level = o->shipping_service_level;
  d.carrier_code = o->carrier_code;
  d.shipping_address = o->shipping_address;
  d.billing_address = o->billing_address;
  d.priority_level = o->priority_level;
  d.replacement_of = o->order_id;
  int n = 0;
  for (const auto& l : o->lines) {
    auto w = wanted.find(l.line_number);
    if (w == wanted.end()) continue;
    order_line r;
    r.item_id = uuid_v4();
    r.line_number = ++n;
    r.product_id = l.product_id;
    r.variant_id = l.variant_id;
    r.sku = l.sku;
    r.product_name = l.product_name;
    r.category = l.category;
    r.bundle_components = l.bundle_components;
    r.quantity = w->second;
    d.lines.push_back(std::move(r));
  }
  return p;
}

// The commit; the order as stored (the concurrent winner's when this one lost the reference).
order_record commit_replacement(pqxx::work& tx, const order_record& d, const place_replacement_order& msg) {
  auto inserted = tx.exec_params(
      "INSERT INTO orders.orders (order_id, order_number, customer_id, customer_name, customer_email, channel, "
      "status, payment_status, currency, shipping_service_level, carrier_code, shipping_address, billing_address, "
      "notes, priority_level, replacement_of, replacement_reference, confirmed_at, metadata) "
      "VALUES ($1::uuid, 'ORD-' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD') || '-' || "
      "lpad(nextval('orders.order_number_seq')::text, 6, '0'), $2, $3, $4, 'replacement', 'confirmed', "
      "'not_required', $5, $6, nullif($7, ''), $8::jsonb, $9::jsonb, nullif($10, ''), $11, $12::uuid, $13, now(), "
      "$14::jsonb) ON CONFLICT DO NOTHING RETURNING order_id",
      d.order_id, d.customer_id, d.customer_name, d.customer_email, d.currency, d.shipping_service_level,
      d.carrier_code, d.shipping_address.dump(), d.billing_address.dump(),
      msg.reason.empty() ? std::string{} : "Replacement: " + msg.reason, d.priority_level, d.replacement_of,
      msg.reference, nlohmann::json{{"replacement_reason", msg.reason}, {"replacement_reference", msg.reference}}.dump());
  if (inserted.empty()) return *by_reference(tx, msg.reference);
  nlohmann::json lines = nlohmann::json::array();
  for (const auto& l : d.lines)
    lines.push_back(item_row(l));  // the prices are written as 0 below
  tx.exec_params(
      "INSERT INTO orders.order_items (item_id, order_id, line_number, product_id, variant_id, bundle_components, "
      "sku, product_name, category, quantity, unit_price, discount_amount, tax_amount, total_price) "
      "SELECT (l->>'item_id')::uuid, $1::uuid, (l->>'line_number')::int, l->>'product_id', l->>'variant_id', "
      "nullif(l->'bundle_components', 'null'::jsonb), l->>'sku', l->>'product_name', l->>'category', "
      "(l->>'quantity')::int, 0, 0, 0, 0 FROM jsonb_array_elements($2::jsonb) AS l",
      d.order_id, lines.dump());
  auto o = *load_order(tx, d.order_id);
  auto created = event_base(o);
  created["channel"] = o.channel;
  created["total_amount"] = money::to_json(0);
  created["currency"] = o.currency;
  created["items_count"] = o.lines.size();
  created["replacement_of"] = o.replacement_of;
  enqueue_event(tx, "order_created", created, o.order_id);
  nlohmann::json ev_lines = nlohmann::json::array();
  for (const auto& l : o.lines)
    ev_lines.push_back({{"item_id", l.item_id}, {"product_id", l.product_id}, {"sku", l.sku},
                        {"quantity", l.quantity}, {"unit_price", money::to_json(0)}});
  auto confirmed = event_base(o);
  confirmed["customer_email"] = o.customer_email;
  confirmed["customer_name"] = o.customer_name;
  confirmed["total_amount"] = money::to_json(0);
  confirmed["currency"] = o.currency;
  confirmed["lines"] = ev_lines;
  confirmed["confirmed_at"] = o.confirmed_at;
  enqueue_event(tx, "order_confirmed", confirmed, o.order_id);
  append_timeline(tx, o.order_id, "order_created",
                  "Replacement order for " + msg.original_order_id + (msg.reason.empty() ? "" : " (" + msg.reason + ")"),
                  nlohmann::json{{"replacement_of", o.replacement_of}, {"reference", msg.reference}}.dump(),
                  "replacement");
  append_timeline(tx, o.replacement_of, "replacement_order_placed", "Replacement order " + o.order_number + " placed",
                  nlohmann::json{{"replacement_order_id", o.order_id}, {"reference", msg.reference}}.dump(),
                  "replacement");
  return o;
}

using view_promise = caf::typed_response_promise<order_view>;

// The stock of a committed replacement becomes permanent; then the caller gets the order.
void confirm_and_answer(order_self self, order_record o, view_promise rp) {
  ask_agent<inventory_actor>(
      self, self->state.ctx, "inventory", inventory::confirm_reservations{o.order_id},
      [rp, o](inventory::reservation_set&) mutable { rp.deliver(to_order_view(o)); },
      [rp](const failure& f) mutable { rp.deliver(make_failure(f)); });  // a retry (same reference) confirms again
}

}  // namespace

caf::result<order_view> answer_replacement_order(order_self self, place_replacement_order msg) {
  input::issue_list issues;
  if (msg.original_order_id.empty()) issue(issues, {"original_order_id"}, "field required", "value_error.missing");
  if (msg.reference.empty()) issue(issues, {"reference"}, "field required", "value_error.missing");
  if (msg.items.empty()) issue(issues, {"items"}, "ensure this value has at least 1 items", "value_error.list.min_items");
  if (!issues.empty()) return make_failure(invalid_failure_of(issues));
  auto rp = self->make_response_promise<order_view>();
  db_transact<replacement_plan>(
      self, *self->state.ctx.database, [msg](pqxx::work& tx) { return plan_replacement(tx, msg); },
      [self, rp, msg](db::outcome<replacement_plan> r) mutable {
        if (!r.ok()) { rp.deliver(make_failure(db_failure(*r.failure))); return; }
        auto& p = *r.value;
        if (p.existing) return confirm_and_answer(self, *p.existing, rp);  // replay by reference
        if (!p.original_found) { rp.deliver(make_failure(not_found_order())); return; }
        if (!p.issues.empty()) { rp.deliver(make_failure(invalid_failure_of(p.issues))); return; }
        auto draft = p.draft;
        ask_agent<inventory_actor>(
            self, self->state.ctx, "inventory", inventory::reserve_stock{draft.order_id, stock_lines(draft), 1800, true},
            [self, rp, msg, draft](inventory::reservation_set&) mutable {
              db_transact<order_record>(
                  self, *self->state.ctx.database,
                  [draft, msg](pqxx::work& tx) { return commit_replacement(tx, draft, msg); },
                  [self, rp](db::outcome<order_record> c) mutable {
                    if (!c.ok()) { rp.deliver(make_failure(db_failure(*c.failure))); return; }
                    self->state.ctx.relay->wake(self->state.ctx.spec->schema);
                    confirm_and_answer(self, std::move(*c.value), rp);
                  });
            },
            [rp](const failure& f) mutable { rp.deliver(make_failure(f)); });  // insufficient_stock: nothing written
      });
  return rp;
}

}  // namespace mercato::order
