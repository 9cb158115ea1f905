// Profile input shared by the REST routes and the typed messages (create_customer,
// update_customer, list_customers, record_interaction): a typed message is turned into the equivalent REST body and
// read by the same input::object_reader code, so both doors validate and normalise alike and a
// typed caller gets the REST 422 list as the failure's detail.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "customer/customer_messages.hpp"
#include "customer/customer_store.hpp"
#include "customer/profile_rules.hpp"
#include "domain/json_input.hpp"
#include "runtime/agent_error.hpp"

namespace mercato::customer {

// A nullable text field of an update: null clears it.
void read_text(input::object_reader& in, nlohmann::json& out, const char* key, size_t max_len, size_t min_len = 0);

// POST /customers body → the store's new profile (source "api"; `with_source`: the typed door's
// `source` field, 1..100 chars).
store::new_profile read_registration(input::object_reader& in, bool with_source = false);
// PUT /customers/{id} body → validated, normalised changes (null = clear); unknown fields → issues.
nlohmann::json read_profile_changes(input::object_reader& in);
// POST /customers/{id}/interactions body → the store's fields (body customer_id ignored).
nlohmann::json read_interaction(input::object_reader& in);

// Typed messages as the equivalent REST body (empty text / nullopt left out).
nlohmann::json interaction_body(const record_interaction& m);
nlohmann::json registration_body(const create_customer& m);
nlohmann::json changes_body(const update_customer& m);
nlohmann::json filter_body(const customer_filter& f);

// registered_from / registered_to: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.fff]Z.
bool valid_registration_bound(const std::string& text);

// GET /customers' filters (query_reader) or list_customers' filter (object_reader): one set of
// checks for both.
template <class Reader>
void read_profile_filter(Reader& in, store::profile_filter& f) {
  if (auto e = in.string("email", input::optional, 1, 320)) f.email = normalize_email(*e).value_or(*e);
  f.account_status = in.choice("account_status", input::optional, {"active", "inactive", "suspended", "blocked"}, true);
  f.customer_type = in.choice("customer_type", input::optional, {"individual", "business"}, true);
  f.loyalty_tier =
      in.choice("loyalty_tier", input::optional, {"bronze", "silver", "gold", "platinum", "diamond"}, true);
  f.search = in.string("search", input::optional, 1, 200);
  for (const char* key : {"registered_from", "registered_to"}) {
    auto v = in.string(key, input::optional, 10, 40);
    if (!v) continue;
    if (!valid_registration_bound(*v)) {
      in.issue(key, "expected an ISO date (YYYY-MM-DD) or a UTC instant (YYYY-MM-DDTHH:MM:SSZ)", "value_error.date");
      continue;
    }
    (std::string{key} == "registered_from" ? f.registered_from : f.registered_to) = *v;
  }
  f.marketing_opt_in = in.boolean("marketing_opt_in", input::optional);
}

// A 422 list as a typed failure: invalid, code "invalid_input", message "<field>: <msg>" of the
// first issue, detail the list as JSON ([{loc, msg, type}]).
failure invalid_input(const input::issue_list& issues);

}  // namespace mercato::customer
