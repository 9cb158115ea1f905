// Delivery attempts of a shipment, numbered 1..3. A successful attempt delivers the shipment through
// the order core (deps.deliver_shipment); the third failed one fails it (deps.fail_shipment) and
// publishes delivery_failed.
#include "order/enhanced_concepts.hpp"

#include "order/enhanced_rules.hpp"
#include "order/timeline.hpp"
#include "runtime/uuid.hpp"

namespace mercato::order::enhanced {
namespace {

const std::string attempt_columns = "attempt_id::text, order_id::text, shipment_id::text, attempt_number, " +
                                    iso("attempted_at") + ", status, failure_reason, " + iso("next_attempt_date") +
                                    ", notes, " + iso("created_at");

json attempt_json(const pqxx::row& r) {
  return json{{"attempt_id", r[0].c_str()},
              {"id", r[0].c_str()},
              {"order_id", r[1].c_str()},
              {"shipment_id", r[2].c_str()},
              {"attempt_number", r[3].as<int>()},
              {"attempted_at", r[4].c_str()},
              {"status", r[5].c_str()},
              {"failure_reason", text_or_null(r[6])},
              {"next_attempt_date", text_or_null(r[7])},
              {"notes", text_or_null(r[8])},
              {"created_at", r[9].c_str()}};
}

struct recorded_attempt {
  json attempt;
  std::string shipment_id;
  std::string attempted_at;
  std::string failure_reason;
  bool successful = false;
  bool fails_shipment = false;
};

// After a hook failed for a successful attempt, the attempt is taken back so it can be recorded again.
void withdraw_attempt(const deps_ptr& deps, const reply_channel& reply, const std::string& attempt_id,
                      const failure& error) {
  run_unit<bool>(
      deps,
      [attempt_id](pqxx::work& tx) {
        tx.exec_params("DELETE FROM orders.delivery_attempts WHERE attempt_id = $1::uuid", attempt_id);
        return true;
      },
      [reply, error](unit_result<bool>&) { reply->deliver(failure_response(error)); });
}

void record_attempt(const deps_ptr& deps, http::request_context& ctx) {
  input::body_reader in{ctx.request.body};
  auto shipment_id = in.string("shipment_id", input::required, 1, 100);
  auto number = in.integer("attempt_number", input::optional, 1, 1000);
  auto attempted_at = in.string("attempted_at", input::optional, 1, 64);
  auto status = in.string("status", input::required, 1, 50);
  if (status && !is_delivery_status(*status))
    in.issue("status", "status must be one of: successful, failed, customer_not_home, address_issue, "
                       "refused_by_customer, damaged_package, weather_delay, rescheduled", "type_error.enum");
  auto reason = in.string("failure_reason", input::optional, 0, 1000);
  if (status && *status != "successful" && (!reason || reason->empty()))
    in.issue("failure_reason", "failure_reason is required unless the attempt was successful", "value_error.missing");
  auto next_date = in.string("next_attempt_date", input::optional, 1, 64);
  auto notes = in.string("notes", input::optional, 0, 2000);
  if (!in.ok()) return ctx.respond(in.error_response());
  std::string key = ctx.params.get("order_id");
  auto reply = ctx.reply;
  run_unit<recorded_attempt>(
      deps,
      [=](pqxx::work& tx) {
        auto order = load_order(tx, key, lock_mode::update);
        if (!is_uuid(*shipment_id)) refuse_field({"body", "shipment_id"}, "Shipment not found", "value_error.not_found");
        auto ship = tx.exec_params("SELECT status FROM orders.partial_shipments WHERE shipment_id = $1::uuid "
                                   "AND order_id = $2::uuid FOR UPDATE",
                                   *shipment_id, order.order_id);
        if (ship.empty()) refuse_field({"body", "shipment_id"}, "Shipment not found", "value_error.not_found");
        std::string ship_status = ship[0][0].c_str();
        auto counts = tx.exec_params1(
            "SELECT count(*), coalesce(bool_or(status = 'successful'), false) FROM orders.delivery_attempts "
            "WHERE shipment_id = $1::uuid",
            *shipment_id);
        attempt_history h;
        h.recorded = counts[0].as<int>();
        h.delivered = counts[1].as<bool>() || ship_status == "delivered";
        h.failed = ship_status == "failed";
        switch (check_attempt(h, number.value_or(0))) {
          case attempt_verdict::shipment_delivered: refuse(409, "Shipment has already been delivered");
          case attempt_verdict::shipment_failed:
            refuse(409, "Shipment has failed after " + std::to_string(max_delivery_attempts) + " delivery attempts");
          case attempt_verdict::not_next:
            refuse(409, "Delivery attempt number must be " + std::to_string(h.recorded + 1));
          case attempt_verdict::ok: break;
        }
        if (ship_status != "shipped" && ship_status != "in_transit" && ship_status != "out_for_delivery")
          refuse(409, "Shipment is not out for delivery (status '" + ship_status + "')");
        int attempt_number = h.recorded + 1;
        std::string at = attempted_at ? timestamp_param(tx, *attempted_at, {"body", "attempted_at"})
                                      : tx.exec1("SELECT " + iso("clock_timestamp()"))[0].c_str();
        if (tx.exec_params1("SELECT $1::timestamptz > clock_timestamp()", at)[0].as<bool>())
          refuse_field({"body", "attempted_at"}, "attempted_at must not be in the future");
        std::optional<std::string> next;
        if (next_date) next = timestamp_param(tx, *next_date, {"body", "next_attempt_date"});
        std::string id = uuid_v4();
        auto row = tx.exec_params1(
            "INSERT INTO orders.delivery_attempts (attempt_id, order_id, shipment_id, attempt_number, attempted_at, "
            "status, failure_reason, next_attempt_date, notes) VALUES ($1::uuid, $2::uuid, $3::uuid, $4, "
            "$5::timestamptz, $6, $7, $8::timestamptz, $9) RETURNING " + attempt_columns,
            id, order.order_id, *shipment_id, attempt_number, at, *status,
            *status == "successful" ? std::optional<std::string>{} : reason, next, notes);
        recorded_attempt out;
        out.attempt = attempt_json(row);
        out.shipment_id = *shipment_id;
        out.attempted_at = at;
        out.successful = *status == "successful";
        out.failure_reason = reason.value_or("");
        out.fails_shipment = attempt_fails_shipment(attempt_number, out.successful);
        append_timeline(tx, order.order_id, "delivery_attempt",
                        "Delivery attempt " + std::to_string(attempt_number) + ": " + *status,
                        json{{"attempt_id", id}, {"shipment_id", *shipment_id}, {"status", *status}}.dump());
        // delivery_failed is published by the core's fail_shipment, in the transaction that fails it.
        return out;
      },
      [deps, reply](unit_result<recorded_attempt>& r) {
        if (!r.ok()) return void(reply->deliver(std::move(r.error)));
        auto rec = std::make_shared<recorded_attempt>(std::move(*r.value));
        if (rec->successful) {
          deps->deliver_shipment(rec->shipment_id, rec->attempted_at, [deps, reply, rec](const failure* e, const json&) {
            if (e) return withdraw_attempt(deps, reply, rec->attempt["attempt_id"], *e);
            reply->deliver(input::json_response(201, rec->attempt));
          });
        } else if (rec->fails_shipment) {
          // The attempt stands either way; a refusal of the core is reported in the answer.
          deps->fail_shipment(rec->shipment_id, rec->failure_reason, [reply, rec](const failure* e, const json&) {
            json body = rec->attempt;
            body["shipment_status"] = e ? json(nullptr) : json("failed");
            if (e) body["shipment_error"] = e->message;
            reply->deliver(input::json_response(201, body));
          });
        } else {
          reply->deliver(input::json_response(201, rec->attempt));
        }
      },
      true);
}

void list_attempts(const deps_ptr& deps, http::request_context& ctx) {
  std::string key = ctx.params.get("order_id");
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    auto order = load_order(tx, key, lock_mode::none);
    json list = json::array();
    for (const auto& r : tx.exec_params("SELECT " + attempt_columns +
                                            " FROM orders.delivery_attempts WHERE order_id = $1::uuid "
                                            "ORDER BY attempted_at, created_at, attempt_number",
                                        order.order_id))
      list.push_back(attempt_json(r));
    return input::json_response(200, list);
  });
}

}  // namespace

void add_delivery_routes(http::router& routes, const deps_ptr& deps) {
  add_both(routes, "POST", "/orders/{order_id}/delivery-attempts", "Record a delivery attempt",
           [deps](http::request_context& ctx) { record_attempt(deps, ctx); });
  add_both(routes, "GET", "/orders/{order_id}/delivery-attempts", "An order's delivery attempts, oldest first",
           [deps](http::request_context& ctx) { list_attempts(deps, ctx); });
}

}  // namespace mercato::order::enhanced
