// Cancellation requests: a customer or agent asks, a reviewer decides. Approval runs the order
// core's cancel saga (deps.cancel_order); the request then ends completed (with the refund figures)
// or failed. At most one pending request per order (partial UNIQUE index + order row lock).
#include "order/enhanced_concepts.hpp"

#include "order/enhanced_rules.hpp"
#include "order/timeline.hpp"
#include "runtime/uuid.hpp"

namespace mercato::order::enhanced {
namespace {

const std::string request_columns =
    "request_id::text, order_id::text, requested_by, reason, detailed_reason, status, reviewed_by, " +
    iso("reviewed_at") + ", review_notes, refund_amount::text, refund_status, " + iso("requested_at") + ", " +
    iso("completed_at") + ", failure_detail";

json request_json(const pqxx::row& r) {
  json j{{"request_id", r[0].c_str()},          {"id", r[0].c_str()},
         {"order_id", r[1].c_str()},            {"requested_by", r[2].c_str()},
         {"reason", r[3].c_str()},              {"detailed_reason", text_or_null(r[4])},
         {"status", r[5].c_str()},              {"reviewed_by", text_or_null(r[6])},
         {"reviewed_at", text_or_null(r[7])},   {"review_notes", text_or_null(r[8])},
         {"refund_amount", money_or_null(r[9])}, {"refund_status", text_or_null(r[10])},
         {"requested_at", r[11].c_str()},       {"completed_at", text_or_null(r[12])}};
  if (!r[13].is_null()) j["failure_detail"] = r[13].c_str();
  return j;
}

json load_request(pqxx::work& tx, const std::string& request_id) {
  return request_json(tx.exec_params1(
      "SELECT " + request_columns + " FROM orders.cancellation_requests WHERE request_id = $1::uuid", request_id));
}

void create_request(const deps_ptr& deps, http::request_context& ctx) {
  input::body_reader in{ctx.request.body};
  auto by = in.string("requested_by", input::required, 1, 200);
  auto reason = in.string("reason", input::required, 1, 100);
  if (reason && !is_cancellation_reason(*reason))
    in.issue("reason", "reason must be one of: customer_request, out_of_stock, payment_failed, fraud_detected, "
                       "duplicate_order, address_issue, pricing_error, marketplace_cancelled, platform_cancelled, other",
             "type_error.enum");
  auto detailed = in.string("detailed_reason", input::optional, 0, 2000);
  if (!in.ok()) return ctx.respond(in.error_response());
  std::string key = ctx.params.get("order_id");
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    auto order = load_order(tx, key, lock_mode::update);
    if (!cancellable_status(order.status) ||
        (order.fulfillment_status != "unfulfilled" && order.fulfillment_status != ""))
      refuse(409, "Order cannot be cancelled in status '" + order.status + "'");
    auto pending = tx.exec_params(
        "SELECT 1 FROM orders.cancellation_requests WHERE order_id = $1::uuid AND status = 'pending'", order.order_id);
    if (!pending.empty()) refuse(409, "A cancellation request is already pending");
    std::string id = uuid_v4();
    tx.exec_params("INSERT INTO orders.cancellation_requests (request_id, order_id, requested_by, reason, "
                   "detailed_reason) VALUES ($1::uuid, $2::uuid, $3, $4, $5)",
                   id, order.order_id, *by, *reason, detailed);
    append_timeline(tx, order.order_id, "cancellation_requested", "Cancellation requested (" + *reason + ")",
                    json{{"request_id", id}, {"reason", *reason}}.dump(), *by);
    emit_event(tx, order, "cancellation_requested",
               json{{"request_id", id}, {"reason", *reason}, {"requested_by", *by},
                    {"detailed_reason", detailed ? json(*detailed) : json(nullptr)}});
    return input::json_response(201, load_request(tx, id));
  }, true);
}

void list_requests(const deps_ptr& deps, http::request_context& ctx) {
  std::string key = ctx.params.get("order_id");
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    auto order = load_order(tx, key, lock_mode::none);
    json list = json::array();
    for (const auto& r : tx.exec_params("SELECT " + request_columns +
                                            " FROM orders.cancellation_requests WHERE order_id = $1::uuid "
                                            "ORDER BY requested_at, seq",
                                        order.order_id))
      list.push_back(request_json(r));
    return input::json_response(200, list);
  });
}

void list_pending(const deps_ptr& deps, http::request_context& ctx) {
  input::query_reader q{ctx.request};
  auto window = input::read_window(q);
  if (!q.ok()) return ctx.respond(q.error_response());
  respond_from_db(deps, ctx, [=](pqxx::work& tx) {
    json list = json::array();
    for (const auto& r : tx.exec_params("SELECT " + request_columns +
                                            " FROM orders.cancellation_requests WHERE status = 'pending' "
                                            "ORDER BY requested_at, seq OFFSET $1 LIMIT $2",
                                        window.skip, window.limit))
      list.push_back(request_json(r));
    return input::json_response(200, list);
  });
}

// What the first review unit decided.
struct review_step {
  json request;                  // the request document after the decision
  bool run_cancel = false;       // approved: the cancel saga runs next
  std::string order_id, reason, requested_by;
  money::cents refund_amount = -1;  // the reviewer's figure, -1 = all captured
};

// The request after the cancel saga answered: completed with refund figures, or failed.
void finish_review(const deps_ptr& deps, const reply_channel& reply, const std::string& request_id,
                   money::cents reviewer_refund, std::optional<failure> error, const json& order_view) {
  money::cents captured = 0, refunded = 0;
  if (!error) {
    captured = money::from_json(order_view.value("amount_captured", json(0))).value_or(0);
    refunded = money::from_json(order_view.value("amount_refunded", json(0))).value_or(0);
  }
  run_unit<json>(
      deps,
      [=](pqxx::work& tx) {
        if (error) {
          tx.exec_params("UPDATE orders.cancellation_requests SET status = 'failed', failure_detail = $2, "
                         "completed_at = clock_timestamp() WHERE request_id = $1::uuid AND status = 'approved'",
                         request_id, error->message.empty() ? error->code : error->message);
        } else {
          money::cents refund = reviewer_refund >= 0 ? reviewer_refund : captured;
          // Refunds run inside the cancel saga; "processing" until the order shows them.
          std::optional<std::string> refund_status;
          if (refund > 0) refund_status = refunded >= refund ? "completed" : "processing";
          tx.exec_params("UPDATE orders.cancellation_requests SET status = 'completed', refund_amount = $2::numeric, "
                         "refund_status = $3, completed_at = clock_timestamp() "
                         "WHERE request_id = $1::uuid AND status = 'approved'",
                         request_id, money::format(refund), refund_status);
        }
        auto r = tx.exec_params1("SELECT order_id::text, status FROM orders.cancellation_requests "
                                 "WHERE request_id = $1::uuid", request_id);
        append_timeline(tx, r[0].c_str(), "cancellation_request_" + std::string{r[1].c_str()},
                        error ? "Cancellation failed: " + error->message : "Cancellation completed",
                        json{{"request_id", request_id}}.dump());
        return load_request(tx, request_id);
      },
      [reply, error](unit_result<json>& r) {
        if (!r.ok()) return void(reply->deliver(std::move(r.error)));
        if (error) {  // recorded as failed; the caller learns why with the saga's status code
          auto resp = failure_response(*error);
          return void(reply->deliver(std::move(resp)));
        }
        reply->deliver(input::json_response(200, *r.value));
      });
}

void review_request(const deps_ptr& deps, http::request_context& ctx) {
  input::body_reader in{ctx.request.body};
  auto decision = in.choice("status", input::required, {"approved", "rejected"});
  auto by = in.string("reviewed_by", input::required, 1, 200);
  auto notes = in.string("review_notes", input::optional, 0, 2000);
  auto refund = in.amount("refund_amount", input::optional);
  if (!in.ok()) return ctx.respond(in.error_response());
  std::string request_id = ctx.params.get("request_id");
  auto reply = ctx.reply;
  run_unit<review_step>(
      deps,
      [=](pqxx::work& tx) {
        if (!is_uuid(request_id)) refuse(404, "Cancellation request not found");
        auto found = tx.exec_params("SELECT order_id::text FROM orders.cancellation_requests WHERE request_id = $1::uuid",
                                    request_id);
        if (found.empty()) refuse(404, "Cancellation request not found");
        auto order = load_order(tx, found[0][0].c_str(), lock_mode::update);  // order first, then request
        auto req = tx.exec_params1("SELECT status, reason, requested_by FROM orders.cancellation_requests "
                                   "WHERE request_id = $1::uuid FOR UPDATE",
                                   request_id);
        std::string status = req[0].c_str();
        if (status != "pending") refuse(409, "Cancellation request is not pending (status '" + status + "')");
        if (refund && *refund > order.amount_captured - order.amount_refunded)
          refuse_field({"body", "refund_amount"},
                       "refund_amount exceeds the captured amount (" +
                           money::format(order.amount_captured - order.amount_refunded) + ")");
        tx.exec_params("UPDATE orders.cancellation_requests SET status = $2, reviewed_by = $3, "
                       "reviewed_at = clock_timestamp(), review_notes = $4, refund_amount = $5::numeric "
                       "WHERE request_id = $1::uuid",
                       request_id, *decision, *by, notes,
                       refund ? std::optional<std::string>{money::format(*refund)} : std::nullopt);
        append_timeline(tx, order.order_id, "cancellation_" + *decision,
                        "Cancellation request " + *decision + " by " + *by,
                        json{{"request_id", request_id}}.dump(), *by);
        emit_event(tx, order, "cancellation_reviewed",
                   json{{"request_id", request_id}, {"decision", *decision}, {"reviewed_by", *by},
                        {"refund_amount", refund ? money::to_json(*refund) : json(nullptr)}});
        review_step step;
        step.request = load_request(tx, request_id);
        step.run_cancel = *decision == "approved";
        step.order_id = order.order_id;
        step.reason = req[1].c_str();
        step.requested_by = req[2].c_str();
        step.refund_amount = refund ? *refund : -1;
        return step;
      },
      [deps, reply, request_id](unit_result<review_step>& r) {
        if (!r.ok()) return void(reply->deliver(std::move(r.error)));
        if (!r.value->run_cancel) return void(reply->deliver(input::json_response(200, r.value->request)));
        money::cents reviewer_refund = r.value->refund_amount;
        deps->cancel_order(r.value->order_id, r.value->reason, r.value->requested_by, reviewer_refund,
                           [deps, reply, request_id, reviewer_refund](const failure* error, const json& result) {
                             std::optional<failure> err;
                             if (error) err = *error;
                             finish_review(deps, reply, request_id, reviewer_refund, err, result);
                           });
      },
      true);
}

}  // namespace

void add_cancellation_routes(http::router& routes, const deps_ptr& deps) {
  add_both(routes, "POST", "/orders/{order_id}/cancellation-requests", "Request an order's cancellation",
           [deps](http::request_context& ctx) { create_request(deps, ctx); });
  add_both(routes, "GET", "/orders/{order_id}/cancellation-requests", "An order's cancellation requests",
           [deps](http::request_context& ctx) { list_requests(deps, ctx); });
  add_both(routes, "GET", "/orders/cancellation-requests/pending", "Pending cancellation requests, oldest first",
           [deps](http::request_context& ctx) { list_pending(deps, ctx); });
  add_both(routes, "POST", "/orders/cancellation-requests/{request_id}/review", "Approve or reject a request",
           [deps](http::request_context& ctx) { review_request(deps, ctx); });
}

}  // namespace mercato::order::enhanced
