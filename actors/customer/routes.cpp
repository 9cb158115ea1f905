// REST table of the customer agent (agents/8007-customer.md "REST"): JSON in, validated and
// normalized here (FastAPI-shaped 422 lists), then one store unit per request.
#include <set>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "customer/customer_actor.hpp"
#include "customer/profile_input.hpp"
#include "customer/profile_rules.hpp"
#include "log/log.hpp"
#include "order/order_messages.hpp"
#include "runtime/agent_call.hpp"

namespace mercato::customer {
namespace {

using json = nlohmann::json;
using input::optional;
using input::required;

// Runs a store unit answering a document: `status` (200, or 201 for a creation) with it as JSON.
template <class Work>
void respond_json(customer_self self, http::request_context& rc, Work work, int status = 200) {
  respond_with<json>(self, rc, std::move(work), [status](json&& j) { return input::json_response(status, j); });
}

http_response no_content() {
  http_response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

// The path's customer id: a value that could never be an id cannot name a customer (404, no query).
bool check_customer_id(http::request_context& rc, std::string& id) {
  id = rc.params.get("customer_id");
  if (valid_customer_id(id)) return true;
  rc.respond(http::not_found(store::not_found_text(id)));
  return false;
}

// Percent-encodes a query value (unreserved characters kept as they are).
std::string query_encode(std::string_view v) {
  std::string out;
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~')
      out.push_back(c);
    else
      out += fmt::format("%{:02X}", u);
  }
  return out;
}

// ---- profiles -------------------------------------------------------------------------------

void create_customer_route(customer_self self, http::request_context& rc) {
  input::body_reader in{rc.request.body};
  store::new_profile p = read_registration(in);
  if (!in.ok()) return rc.respond(in.error_response());
  respond_json(self, rc, [p](pqxx::work& tx) { return store::create_profile(tx, p); }, 201);
}

void list_customers_route(customer_self self, http::request_context& rc) {
  input::query_reader q{rc.request};
  auto w = input::read_window(q);
  store::profile_filter f;
  f.skip = w.skip;
  f.limit = w.limit;
  read_profile_filter(q, f);
  if (!q.ok()) return rc.respond(q.error_response());
  respond_json(self, rc, [f](pqxx::work& tx) { return store::result<json>::of(store::list_profiles(tx, f)); });
}

void get_customer_route(customer_self self, http::request_context& rc) {
  std::string id;
  if (!check_customer_id(rc, id)) return;
  respond_json(self, rc, [id](pqxx::work& tx) { return store::get_profile(tx, id); });
}

void update_customer_route(customer_self self, http::request_context& rc) {
  std::string id = rc.params.get("customer_id");
  if (!valid_customer_id(id))
    return rc.respond(http::not_found(fmt::format("Customer with ID {} not found or update failed", id)));
  input::body_reader in{rc.request.body};
  if (!in.ok()) return rc.respond(in.error_response());
  json c = read_profile_changes(in);
  if (!in.ok()) return rc.respond(in.error_response());
  respond_json(self, rc, [id, c](pqxx::work& tx) { return store::update_profile(tx, id, c); });
}

void delete_customer(customer_self self, http::request_context& rc) {
  std::string id = rc.params.get("customer_id");
  if (!valid_customer_id(id))
    return rc.respond(http::not_found(fmt::format("Customer with ID {} not found or delete failed", id)));
  auto ctx = std::make_shared<http::request_context>(std::move(rc));
  auto erase = [self, ctx, id](std::optional<int64_t> open_orders) {
    run_store<bool>(
        self, [id, open_orders](pqxx::work& tx) { return store::erase_profile(tx, id, open_orders); },
        [ctx](bool&&) { ctx->respond(no_content()); }, [ctx](const failure& f) { ctx->respond(failure_response(f)); });
  };
  // The open-order guard asks the order agent (count_open_orders: its orders table is the truth,
  // including orders placed before this agent saw any event). While the order agent is down,
  // this agent's projection of the order events (customer_orders) answers instead.
  ask_agent_resending<order_actor>(
      self, self->state.shell->context(), "order", order::count_open_orders{id},
      [erase](count_reply& n) { erase(n.count); },
      [erase, id](const failure& f) {
        log::warn("customer", "open_orders_unavailable", {{"customer_id", id}, {"error", f.message}});
        erase(std::nullopt);
      });
}

// The order agent's list for this customer, asked through the order agent's own REST door
// (its typed http_request interface): there is no list_orders message yet, and this way the
// answer is exactly GET /orders?customer_id=… (filters, shape and order included).
void customer_orders(customer_self self, http::request_context& rc) {
  std::string id;
  if (!check_customer_id(rc, id)) return;
  input::query_reader q{rc.request};
  auto w = input::read_window(q);
  auto status = q.string("status", optional, 1, 200);
  if (!q.ok()) return rc.respond(q.error_response());
  std::string query = "customer_id=" + query_encode(id) + "&skip=" + std::to_string(w.skip) +
                      "&limit=" + std::to_string(w.limit);
  if (status) query += "&status=" + query_encode(*status);
  auto ctx = std::make_shared<http::request_context>(std::move(rc));
  run_store<bool>(
      self, [id](pqxx::work& tx) {
        if (store::load_profile(tx, id)) return store::result<bool>::of(true);
        return store::result<bool>::fail(failure_kind::not_found, "customer_not_found", store::not_found_text(id));
      },
      [self, ctx, query](bool&&) {
        http_request req;
        req.method = "GET";
        req.path = "/orders";
        req.query = query;
        ask_agent_resending<agent_actor>(
            self, self->state.shell->context(), "order", std::move(req),
            [ctx](http_response& r) { ctx->respond(std::move(r)); },
            [ctx](failure down) {
              down.kind = failure_kind::unavailable;  // whatever went wrong, it was the order agent
              ctx->respond(failure_response(down));
            });
      },
      [ctx](const failure& f) { ctx->respond(failure_response(f)); });
}

// ---- addresses ------------------------------------------------------------------------------

// Address fields of a POST (all required ones) or a PUT (any subset).
json read_address(input::object_reader& in, bool creating) {
  auto p = creating ? required : optional;
  json f = json::object();
  if (auto t = in.choice("address_type", p, {"shipping", "billing", "both"}, true)) f["address_type"] = *t;
  if (auto v = in.string("street_address_1", p, 1, 255)) f["street_address_1"] = *v;
  if (auto v = in.string("city", p, 1, 100)) f["city"] = *v;
  if (auto v = in.string("postal_code", p, 1, 20)) f["postal_code"] = *v;
  if (auto v = in.string("country_code", p, 2, 2)) {
    std::string cc;
    for (char c : *v) cc.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    if (!std::isalpha(static_cast<unsigned char>(cc[0])) || !std::isalpha(static_cast<unsigned char>(cc[1])))
      in.issue("country_code", "country_code must be an ISO 3166-1 alpha-2 code", "value_error.str.regex");
    else
      f["country_code"] = cc;
  }
  for (const char* k : {"address_label", "first_name", "last_name", "company_name", "street_address_2",
                        "state_province", "phone"})
    read_text(in, f, k, 100);
  read_text(in, f, "delivery_instructions", 1000);
  if (auto d = in.boolean("is_default", optional)) f["is_default"] = *d;
  return f;
}

void add_address(customer_self self, http::request_context& rc) {
  std::string id;
  if (!check_customer_id(rc, id)) return;
  input::body_reader in{rc.request.body};
  json f = read_address(in, true);
  if (!in.ok()) return rc.respond(in.error_response());
  respond_json(self, rc, [id, f](pqxx::work& tx) { return store::add_address(tx, id, f); }, 201);
}

void list_addresses(customer_self self, http::request_context& rc) {
  std::string id;
  if (!check_customer_id(rc, id)) return;
  input::query_reader q{rc.request};
  auto type = q.choice("address_type", optional, {"shipping", "billing", "both"}, true);
  if (!q.ok()) return rc.respond(q.error_response());
  respond_json(self, rc, [id, type](pqxx::work& tx) { return store::list_addresses(tx, id, type); });
}

void update_address(customer_self self, http::request_context& rc) {
  std::string id;
  if (!check_customer_id(rc, id)) return;
  std::string address_id = rc.params.get("address_id");
  input::body_reader in{rc.request.body};
  json f = read_address(in, false);
  if (!in.ok()) return rc.respond(in.error_response());
  respond_json(self, rc,
               [id, address_id, f](pqxx::work& tx) { return store::update_address(tx, id, address_id, f); });
}

void delete_address(customer_self self, http::request_context& rc) {
  std::string id;
  if (!check_customer_id(rc, id)) return;
  std::string address_id = rc.params.get("address_id");
  respond_with<bool>(self, rc, [id, address_id](pqxx::work& tx) { return store::delete_address(tx, id, address_id); },
                     [](bool&&) { return no_content(); });
}

void default_address(customer_self self, http::request_context& rc) {
  std::string id;
  if (!check_customer_id(rc, id)) return;
  std::string address_id = rc.params.get("address_id");
  respond_json(self, rc,
               [id, address_id](pqxx::work& tx) { return store::make_default_address(tx, id, address_id); });
}

// ---- preferences ----------------------------------------------------------------------------

void get_preferences_route(customer_self self, http::request_context& rc) {
  std::string id;
  if (!check_customer_id(rc, id)) return;
  respond_json(self, rc, [id](pqxx::work& tx) { return store::get_preferences(tx, id); });
}

void put_preferences(customer_self self, http::request_context& rc) {
  std::string id;
  if (!check_customer_id(rc, id)) return;
  input::body_reader in{rc.request.body};
  if (!in.ok()) return rc.respond(in.error_response());
  static const std::set<std::string> categories{"communication", "privacy", "shopping", "notifications"};
  for (auto it = in.json().begin(); it != in.json().end(); ++it) {
    if (!categories.count(it.key()))
      in.issue(std::vector<std::string>{"body", it.key()},
               "unknown preference category (communication, privacy, shopping, notifications)", "value_error.category");
    else if (!it->is_object())
      in.issue(std::vector<std::string>{"body", it.key()}, "value is not a valid dict", "type_error.dict");
    else
      for (auto kv = it->begin(); kv != it->end(); ++kv)
        if (kv.key().empty() || kv.key().size() > 100)
          in.issue(std::vector<std::string>{"body", it.key(), kv.key()}, "preference keys have 1 to 100 characters",
                   "value_error.any_str");
  }
  if (!in.ok()) return rc.respond(in.error_response());
  json prefs = in.json();
  respond_json(self, rc, [id, prefs](pqxx::work& tx) { return store::put_preferences(tx, id, prefs); });
}

// ---- loyalty and store credit ---------------------------------------------------------------

void get_loyalty(customer_self self, http::request_context& rc) {
  std::string id = rc.params.get("customer_id");
  respond_json(self, rc, [id](pqxx::work& tx) { return store::loyalty(tx, id); });
}

void list_loyalty_transactions(customer_self self, http::request_context& rc) {
  std::string id;
  if (!check_customer_id(rc, id)) return;
  input::query_reader q{rc.request};
  auto w = input::read_window(q);
  auto type = q.choice("transaction_type", optional,
                       {"earn", "redeem", "restore", "reverse", "expire", "adjustment", "bonus"}, true);
  if (!q.ok()) return rc.respond(q.error_response());
  respond_json(self, rc, [id, type, w](pqxx::work& tx) {
    return store::loyalty_transactions(tx, id, type, w.skip, w.limit);
  });
}

void adjust_loyalty(customer_self self, http::request_context& rc) {
  std::string id;
  if (!check_customer_id(rc, id)) return;
  input::body_reader in{rc.request.body};
  auto points = in.integer("points", required, -1'000'000'000, 1'000'000'000);
  if (points && *points == 0) in.issue("points", "points must not be 0", "value_error.number.not_zero");
  auto reason = in.string("reason", required, 1, 500);
  auto by = in.string("adjusted_by", required, 1, 100);
  if (!in.ok()) return rc.respond(in.error_response());
  int64_t n = *points;
  std::string r = *reason, b = *by;
  respond_json(self, rc, [id, n, r, b](pqxx::work& tx) { return store::adjust_points(tx, id, n, r, b); });
}

void get_store_credit(customer_self self, http::request_context& rc) {
  std::string id;
  if (!check_customer_id(rc, id)) return;
  respond_json(self, rc, [id](pqxx::work& tx) { return store::store_credit(tx, id); });
}

void adjust_store_credit(customer_self self, http::request_context& rc) {
  std::string id;
  if (!check_customer_id(rc, id)) return;
  input::body_reader in{rc.request.body};
  auto amount = in.amount("amount", required, -money::max_amount);
  if (amount && *amount == 0) in.issue("amount", "amount must not be 0", "value_error.number.not_zero");
  auto reason = in.string("reason", required, 1, 500);
  auto by = in.string("adjusted_by", required, 1, 100);
  if (!in.ok()) return rc.respond(in.error_response());
  money::cents a = *amount;
  std::string r = *reason, b = *by;
  respond_json(self, rc, [id, a, r, b](pqxx::work& tx) { return store::adjust_credit(tx, id, a, r, b); });
}

// ---- interactions ---------------------------------------------------------------------------

void add_interaction(customer_self self, http::request_context& rc) {
  std::string id;
  if (!check_customer_id(rc, id)) return;
  input::body_reader in{rc.request.body};
  json f = read_interaction(in);
  if (!in.ok()) return rc.respond(in.error_response());
  respond_json(self, rc, [id, f](pqxx::work& tx) { return store::add_interaction(tx, id, f); }, 201);
}

void list_interactions(customer_self self, http::request_context& rc) {
  std::string id;
  if (!check_customer_id(rc, id)) return;
  input::query_reader q{rc.request};
  auto w = input::read_window(q);
  store::interaction_filter f;
  f.skip = w.skip;
  f.limit = w.limit;
  f.status = q.choice("status", optional, {"open", "in_progress", "resolved", "closed"}, true);
  f.interaction_type =
      q.choice("interaction_type", optional, {"support_ticket", "chat", "email", "phone", "review", "feedback"}, true);
  if (!q.ok()) return rc.respond(q.error_response());
  respond_json(self, rc, [id, f](pqxx::work& tx) { return store::list_interactions(tx, id, f); });
}

void patch_interaction(customer_self self, http::request_context& rc) {
  std::string id;
  if (!check_customer_id(rc, id)) return;
  std::string interaction_id = rc.params.get("interaction_id");
  input::body_reader in{rc.request.body};
  json c = json::object();
  if (auto v = in.choice("status", optional, {"open", "in_progress", "resolved", "closed"}, true)) c["status"] = *v;
  read_text(in, c, "assigned_to", 100);
  if (auto v = in.choice("priority", optional, {"low", "medium", "high", "urgent"}, true)) c["priority"] = *v;
  read_text(in, c, "resolution", 5000, 1);
  if (!in.ok()) return rc.respond(in.error_response());
  respond_json(self, rc, [id, interaction_id, c](pqxx::work& tx) {
    return store::patch_interaction(tx, id, interaction_id, c);
  });
}

}  // namespace

void add_customer_routes(customer_self self) {
  auto& r = self->state.shell->routes();
  auto bind = [self](void (*fn)(customer_self, http::request_context&)) {
    return [self, fn](http::request_context& rc) { fn(self, rc); };
  };
  r.add("GET", "/customers", "List customers", bind(list_customers_route));
  r.add("POST", "/customers", "Register a customer", bind(create_customer_route));
  r.add("GET", "/customers/{customer_id}", "Get a customer", bind(get_customer_route));
  r.add("PUT", "/customers/{customer_id}", "Update a customer", bind(update_customer_route));
  r.add("DELETE", "/customers/{customer_id}", "Erase a customer's personal data", bind(delete_customer));
  r.add("GET", "/customers/{customer_id}/orders", "The customer's orders (from the order agent)",
        bind(customer_orders));
  r.add("POST", "/customers/{customer_id}/addresses", "Add an address", bind(add_address));
  r.add("GET", "/customers/{customer_id}/addresses", "List addresses", bind(list_addresses));
  r.add("PUT", "/customers/{customer_id}/addresses/{address_id}", "Update an address", bind(update_address));
  r.add("DELETE", "/customers/{customer_id}/addresses/{address_id}", "Delete an address", bind(delete_address));
  r.add("POST", "/customers/{customer_id}/addresses/{address_id}/default", "Make an address the default",
        bind(default_address));
  r.add("GET", "/customers/{customer_id}/preferences", "Get preferences", bind(get_preferences_route));
  r.add("PUT", "/customers/{customer_id}/preferences", "Set preferences", bind(put_preferences));
  r.add("GET", "/customers/{customer_id}/loyalty", "Loyalty status", bind(get_loyalty));
  r.add("GET", "/customers/{customer_id}/loyalty/transactions", "Loyalty ledger", bind(list_loyalty_transactions));
  r.add("POST", "/customers/{customer_id}/loyalty/adjust", "Adjust loyalty points", bind(adjust_loyalty));
  r.add("GET", "/customers/{customer_id}/store-credit", "Store credit balance and ledger", bind(get_store_credit));
  r.add("POST", "/customers/{customer_id}/store-credit/adjust", "Adjust store credit", bind(adjust_store_credit));
  r.add("POST", "/customers/{customer_id}/interactions", "Record an interaction", bind(add_interaction));
  r.add("GET", "/customers/{customer_id}/interactions", "List interactions", bind(list_interactions));
  r.add("PATCH", "/customers/{customer_id}/interactions/{interaction_id}", "Update an interaction",
        bind(patch_interaction));
}

}  // namespace mercato::customer
