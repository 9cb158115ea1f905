// fraud_detection's REST table (agents/8010-fraud_detection.md "REST"): JSON ⇄ the same domain
// operations the typed messages use.
#include <utility>

#include "domain/json_input.hpp"
#include "fraud_detection/fraud_agent_state.hpp"
#include "http/problem.hpp"
#include "log/log.hpp"

namespace mercato::fraud {
namespace {

using nlohmann::json;

void reply_error(const reply_channel& reply, int status, std::string_view detail) {
  reply->deliver(http::error(status, detail));
}

void reply_json(const reply_channel& reply, const json& body, int status = 200) {
  reply->deliver(input::json_response(status, body));
}

// A refusal (or database failure) as the FastAPI error body.
template <class T>
void reply_refusal(const reply_channel& reply, const refusable<T>& r) {
  if (r.refusal.kind == failure_kind::internal)
    log::error("fraud_detection", "request_failed", {{"code", r.refusal.code}, {"message", r.refusal.message}});
  reply->deliver(failure_response(r.refusal));
}

// Runs a read-only store call and answers with `render(value)`.
template <class T, class Work, class Render>
void read_and_reply(fraud_self self, const reply_channel& reply, Work work, Render render) {
  fraud_db<T>(self, false, std::move(work), [reply, render](refusable<T> r) {
    if (r.value) render(reply, *r.value);
    else reply_refusal(reply, r);
  });
}

json check_list(const std::vector<check_record>& checks) {
  json out = json::array();
  for (const auto& c : checks) out.push_back(to_json(c));
  return out;
}

}  // namespace

void add_fraud_routes(fraud_self self) {
  auto& routes = self->state.shell->routes();

  routes.add("POST", "/check_fraud", "Score an order, payment or account for fraud risk",
             [self](http::request_context& ctx) {
               input::body_reader in{ctx.request.body};
               std::optional<score_request> req;
               if (in.ok()) req = read_check_request(in.json(), self->state.settings, in.sink());
               if (!in.ok() || !req) return ctx.respond(in.error_response());
               run_scoring(self, std::move(*req), [reply = ctx.reply](refusable<scored_check> r) {
                 if (r.value) reply_json(reply, to_json(r.value->check));
                 else reply_refusal(reply, r);
               });
             });

  routes.add("POST", "/block_entity", "Block an e-mail, IP, customer, phone or card fingerprint",
             [self](http::request_context& ctx) {
               input::body_reader in{ctx.request.body};
               std::optional<block_request> req;
               if (in.ok()) req = read_block_request(in.json(), in.sink());
               if (!in.ok() || !req) return ctx.respond(in.error_response());
               run_block(self, std::move(*req), [reply = ctx.reply](refusable<blocked_outcome> r) {
                 if (!r.value) return reply_refusal(reply, r);
                 json body = to_json(r.value->block);
                 body["status"] = "success";
                 body["created"] = r.value->created;
                 reply_json(reply, body);
               });
             });

  routes.add("GET", "/blocked_entities", "List blocked entities (newest first)",
             [self](http::request_context& ctx) {
               input::query_reader q{ctx.request};
               auto type = q.choice("entity_type", input::optional,
                                    {"email", "ip", "customer", "phone", "card_fingerprint"}, true);
               const bool active_only = q.boolean("active_only", input::optional).value_or(true);
               const auto window = input::read_window(q);
               if (!q.ok()) return ctx.respond(q.error_response());
               read_and_reply<std::vector<block_record>>(
                   self, ctx.reply,
                   [t = type.value_or(""), active_only, window](pqxx::work& tx) {
                     return refusable<std::vector<block_record>>{
                         list_blocks(tx, t, active_only, window.skip, window.limit), {}};
                   },
                   [](const reply_channel& reply, const std::vector<block_record>& blocks) {
                     json out = json::array();
                     for (const auto& b : blocks) out.push_back(to_json(b));
                     reply_json(reply, out);
                   });
             });

  routes.add("GET", "/blocked_entities/{block_id}", "Get a block", [self](http::request_context& ctx) {
    read_and_reply<std::optional<block_record>>(
        self, ctx.reply,
        [id = ctx.params.get("block_id")](pqxx::work& tx) {
          return refusable<std::optional<block_record>>{find_block(tx, id), {}};
        },
        [](const reply_channel& reply, const std::optional<block_record>& b) {
          if (!b) return reply_error(reply, 404, "Block not found");
          reply_json(reply, to_json(*b));
        });
  });

  routes.add("DELETE", "/blocked_entities/{block_id}", "Unblock an entity",
             [self](http::request_context& ctx) {
               input::query_reader q{ctx.request};
               auto by = q.string("unblocked_by", input::required, 1, 255);
               if (!q.ok()) return ctx.respond(q.error_response());
               fraud_db<std::optional<unblock_outcome>>(
                   self, true,
                   [id = ctx.params.get("block_id"), by = *by](pqxx::work& tx) {
                     return refusable<std::optional<unblock_outcome>>{unblock(tx, id, by), {}};
                   },
                   [reply = ctx.reply](refusable<std::optional<unblock_outcome>> r) {
                     if (!r.value) return reply_refusal(reply, r);
                     if (!*r.value) return reply_error(reply, 404, "Block not found");
                     const auto& b = (*r.value)->block;
                     reply_json(reply, {{"block_id", b.block_id},
                                        {"status", "unblocked"},
                                        {"entity_type", b.entity_type},
                                        {"entity_value", b.entity_value},
                                        {"unblocked_by", b.unblocked_by},
                                        {"unblocked_at", b.unblocked_at}});
                   });
             });

  routes.add("GET", "/customer_fraud_history/{customer_id}", "A customer's latest checks",
             [self](http::request_context& ctx) {
               input::query_reader q{ctx.request};
               auto limit = q.integer("limit", input::optional, 1, 100);
               if (!q.ok()) return ctx.respond(q.error_response());
               check_filter f;
               f.customer_id = ctx.params.get("customer_id");
               f.limit = limit.value_or(10);
               if (f.customer_id.empty()) return reply_json(ctx.reply, json::array());
               read_and_reply<std::vector<check_record>>(
                   self, ctx.reply,
                   [f](pqxx::work& tx) { return refusable<std::vector<check_record>>{list_checks(tx, f), {}}; },
                   [](const reply_channel& reply, const std::vector<check_record>& checks) {
                     reply_json(reply, check_list(checks));
                   });
             });

  routes.add("GET", "/checks", "List fraud checks (newest first)", [self](http::request_context& ctx) {
    input::query_reader q{ctx.request};
    check_filter f;
    f.entity_type = q.choice("entity_type", input::optional,
                             {"order", "payment", "customer", "account", "transaction"}, true)
                        .value_or("");
    f.entity_id = q.string("entity_id", input::optional, 1, 255).value_or("");
    f.decision = q.choice("decision", input::optional, {"approved", "flagged", "manual_review", "blocked"},
                          true)
                     .value_or("");
    f.risk_level =
        q.choice("risk_level", input::optional, {"low", "medium", "high", "critical"}, true).value_or("");
    for (auto [name, target] : {std::pair<const char*, std::string*>{"from", &f.from}, {"to", &f.to}}) {
      if (auto v = q.string(name, input::optional, 1, 64)) {
        if (is_iso8601(*v)) *target = *v;
        else q.issue(name, "invalid datetime format", "value_error.datetime");
      }
    }
    const auto window = input::read_window(q);
    f.skip = window.skip;
    f.limit = window.limit;
    if (!q.ok()) return ctx.respond(q.error_response());
    read_and_reply<std::vector<check_record>>(
        self, ctx.reply,
        [f](pqxx::work& tx) { return refusable<std::vector<check_record>>{list_checks(tx, f), {}}; },
        [](const reply_channel& reply, const std::vector<check_record>& checks) {
          reply_json(reply, check_list(checks));
        });
  });

  routes.add("GET", "/checks/{check_id}", "Get a fraud check", [self](http::request_context& ctx) {
    read_and_reply<std::optional<check_record>>(
        self, ctx.reply,
        [id = ctx.params.get("check_id")](pqxx::work& tx) {
          return refusable<std::optional<check_record>>{find_check(tx, id), {}};
        },
        [](const reply_channel& reply, const std::optional<check_record>& c) {
          if (!c) return reply_error(reply, 404, "Fraud check not found");
          reply_json(reply, to_json(*c));
        });
  });

  routes.add("POST", "/checks/{check_id}/review", "Record a manual review of a check",
             [self](http::request_context& ctx) {
               input::body_reader in{ctx.request.body};
               review_request req;
               req.check_id = ctx.params.get("check_id");
               if (in.ok()) {
                 req.outcome = in.choice("outcome", input::required, {"approved", "rejected"}, true)
                                   .value_or("");
                 req.reviewed_by = in.string("reviewed_by", input::required, 1, 255).value_or("");
                 req.notes = in.string("notes", input::optional, 0, 2000).value_or("");
               }
               if (!in.ok()) return ctx.respond(in.error_response());
               run_review(self, std::move(req), [reply = ctx.reply](refusable<check_record> r) {
                 if (r.value) reply_json(reply, to_json(*r.value));
                 else reply_refusal(reply, r);
               });
             });

  routes.add("GET", "/rules", "The signal weights and thresholds in force",
             [self](http::request_context& ctx) {
               reply_json(ctx.reply, rules_json(self->state.settings));
             });

  routes.add("GET", "/analytics/summary", "Checks, decisions, levels and signals over N days",
             [self](http::request_context& ctx) {
               input::query_reader q{ctx.request};
               const int64_t days = q.integer("days", input::optional, 1, 365).value_or(30);
               if (!q.ok()) return ctx.respond(q.error_response());
               read_and_reply<json>(
                   self, ctx.reply,
                   [days](pqxx::work& tx) { return refusable<json>{summary(tx, days), {}}; },
                   [](const reply_channel& reply, const json& body) { reply_json(reply, body); });
             });
}

}  // namespace mercato::fraud
