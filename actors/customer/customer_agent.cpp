// The customer agent (agents/8007-customer.md): typed messages for the order saga and other agents,
// order events (stats, earning, reversal), the daily loyalty jobs' timer, and its REST routes.
#include "customer/customer_agent.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "customer/customer_actor.hpp"
#include "customer/loyalty_rules.hpp"
#include "customer/profile_input.hpp"
#include "customer/profile_rules.hpp"
#include "log/log.hpp"
#include "runtime/event_subscription.hpp"

namespace mercato {
namespace customer {
namespace {

using json = nlohmann::json;

constexpr int max_event_attempts = 10;

// Typed request → store unit → promise.
template <class T, unit_mode Mode = unit_mode::transaction, class Work>
caf::result<T> answer(customer_self self, Work work) {
  auto rp = self->make_response_promise<T>();
  run_store<T, Mode>(
      self, std::move(work), [rp](T&& v) mutable { rp.deliver(std::move(v)); },
      [rp](const failure& f) mutable { rp.deliver(make_failure(f)); });
  return rp;
}

// The summary of validate_customer / get_customer, read in a statement shared with the summaries
// asked meanwhile (state.summaries). on_ok(customer_profile&&) or on_fail(const failure&).
template <class OnOk, class OnFail>
void read_summary(customer_self self, std::string customer_id, OnOk on_ok, OnFail on_fail) {
  using batch = shared_reads<std::string, store::result<customer_profile>>;
  self->state.summaries.read(
      std::move(customer_id),
      [on_ok = std::move(on_ok), on_fail = std::move(on_fail)](std::optional<failure> failed,
                                                               store::result<customer_profile> r) mutable {
        if (failed) return on_fail(*failed);
        if (!r.ok()) return on_fail(r.error);
        on_ok(std::move(*r.value));
      },
      [self](std::vector<std::string> ids, batch::finish_fn finish) {
        using many = std::vector<store::result<customer_profile>>;
        run_store<many, unit_mode::reads>(
            self,
            [ids = std::move(ids)](pqxx::nontransaction& tx) {
              return store::result<many>::of(store::summaries(tx, ids));
            },
            [finish](many&& found) { finish({std::nullopt, std::move(found)}); },
            [finish](const failure& f) { finish({f, {}}); });
      });
}

constexpr size_t max_event_batch = 64;

bool order_event_matters(const event& e) {
  std::string_view name = e.name;
  if (name.rfind("order.", 0) == 0) name.remove_prefix(6);
  std::string status;
  if (name == "order_status_updated") {
    auto p = json::parse(e.payload, nullptr, false);
    if (p.is_object() && p.contains("new_status") && p["new_status"].is_string()) status = p["new_status"];
  }
  return loyalty::order_event_matters(name, status);
}

void apply_next_events(customer_self self) {
  auto& st = self->state;
  if (st.applying_event || st.pending_events.empty()) return;
  st.applying_event = true;
  const size_t n = st.apply_singly > 0 ? 1 : std::min(st.pending_events.size(), max_event_batch);
  auto batch = std::make_shared<std::vector<customer_state::queued_event>>();
  for (size_t i = 0; i < n; ++i) {
    batch->push_back(std::move(st.pending_events.front()));
    st.pending_events.pop_front();
  }
  auto on_ok = [self, batch](bool&&) {
    auto& st = self->state;
    for (const auto& q : *batch) acknowledge_event(st.shell->context(), q.e.event_id);
    if (st.apply_singly > 0) --st.apply_singly;
    st.applying_event = false;
    apply_next_events(self);
  };
  auto on_fail = [self, batch](const failure& f) {
    // Nothing applied: the transaction rolled back (none is marked processed), or the batch's
    // one statement failed — unless its connection was lost after it committed, and then the
    // retry is all duplicates and skipped. A database outage is retried in place, in order; after
    // max_event_attempts the events stay unacknowledged and the bus delivers them again later.
    // Otherwise a batch is retried one event at a time, and a single event that fails is a bug
    // in the event or in us: logged, acknowledged and skipped.
    auto& st = self->state;
    auto requeue = [&] {
      for (auto it = batch->rbegin(); it != batch->rend(); ++it) st.pending_events.push_front(std::move(*it));
    };
    if (f.kind == failure_kind::unavailable) {
      if (++batch->front().attempts < max_event_attempts) {
        requeue();
        self->delayed_send(self, std::chrono::seconds(1), continuation{[self] {
                             self->state.applying_event = false;
                             apply_next_events(self);
                           }});
        return;
      }
      log::warn("customer", "order_events_deferred", {{"events", batch->size()}, {"error", f.message}});
    } else if (batch->size() > 1) {
      st.apply_singly = batch->size();
      requeue();
    } else {
      log::warn("customer", "order_event_failed",
                {{"event", batch->front().e.name}, {"event_id", batch->front().e.event_id}, {"error", f.message}});
      acknowledge_event(st.shell->context(), batch->front().e.event_id);
      if (st.apply_singly > 0) --st.apply_singly;
    }
    st.applying_event = false;
    apply_next_events(self);
  };
  std::vector<event> events;
  for (const auto& q : *batch) events.push_back(q.e);
  // A batch of only placement events (order_created / order_confirmed: the usual batch under load)
  // is one statement (store::apply_in_one_statement) without BEGIN/COMMIT: two round trips fewer.
  if (std::all_of(events.begin(), events.end(), store::applies_in_one_statement)) {
    run_store<bool, unit_mode::one_write>(
        self,
        [events = std::move(events)](pqxx::nontransaction& tx) {
          store::apply_in_one_statement(tx, events);
          return store::result<bool>::of(true);
        },
        std::move(on_ok), std::move(on_fail));
    return;
  }
  // Otherwise one transaction, in order: each run of consecutive placement events one statement,
  // the other events one by one.
  run_store<bool>(
      self,
      [events = std::move(events)](pqxx::work& tx) {
        std::vector<event> run;
        for (const auto& e : events) {
          if (store::applies_in_one_statement(e)) {
            run.push_back(e);
            continue;
          }
          store::apply_in_one_statement(tx, run);
          run.clear();
          store::apply_order_event(tx, e);
        }
        store::apply_in_one_statement(tx, run);
        return store::result<bool>::of(true);
      },
      std::move(on_ok), std::move(on_fail));
}

customer_impl::behavior_type customer_agent(customer_self self, agent_context ctx) {
  start_agent(self, ctx);
  add_customer_routes(self);
  consume_events(self, ctx, {"order.*"});
  self->state.shell->set_health_extras([self] {
    return ",\"shared_statements\":{\"summaries\":" + self->state.summaries.health_json() + "}";
  });
  // The daily loyalty jobs: whatever a missed 02:00 UTC slot owes runs now (loyalty_jobs.cpp).
  self->send(self, loyalty_tick_atom::value);
  return {
      on_http_call(self),
      on_http_request(self),
      on_heartbeat(self),
      on_fault(self),
      on_continuation(self),
      [self](validate_customer& m) -> caf::result<customer_profile> {
        auto rp = self->make_response_promise<customer_profile>();
        read_summary(
            self, std::move(m.customer_id),
            [rp](customer_profile&& p) mutable {
              if (p.status != "active")
                rp.deliver(make_failure(failure_kind::invalid, "customer_inactive",
                                        fmt::format("Customer account is {}", p.status),
                                        nlohmann::json{{"account_status", p.status}}.dump()));
              else
                rp.deliver(std::move(p));
            },
            [rp](const failure& f) mutable { rp.deliver(make_failure(f)); });
        return rp;
      },
      [self](get_customer& m) -> caf::result<customer_profile> {
        auto rp = self->make_response_promise<customer_profile>();
        read_summary(
            self, std::move(m.customer_id), [rp](customer_profile&& p) mutable { rp.deliver(std::move(p)); },
            [rp](const failure& f) mutable { rp.deliver(make_failure(f)); });
        return rp;
      },
      [self](find_customer& m) -> caf::result<customer_profile> {
        std::string email = normalize_email(m.email).value_or(m.email);
        return answer<customer_profile>(self, [email](pqxx::work& tx) {
          auto p = store::find_by_email(tx, email);
          if (!p.ok()) return store::result<customer_profile>::from(p);
          return store::result<customer_profile>::of(store::summary_of(tx, *p.value));
        });
      },
      [self](ensure_customer& m) -> caf::result<ensured_customer> {
        return answer<ensured_customer>(self, [m](pqxx::work& tx) { return store::ensure_profile(tx, m); });
      },
      [self](create_customer& m) -> caf::result<customer_profile> {
        // the REST body's validation (profile_input), then POST /customers' store unit
        json body = registration_body(m);
        input::issue_list issues;
        input::object_reader in{body, {"body"}, issues};
        store::new_profile p = read_registration(in, true);
        if (!issues.empty()) return make_failure(invalid_input(issues));
        return answer<customer_profile>(self, [p](pqxx::work& tx) {
          auto r = store::create_profile(tx, p);
          if (!r.ok()) return store::result<customer_profile>::from(r);
          return store::result<customer_profile>::of(store::summary_of(tx, *r.value));
        });
      },
      [self](update_customer& m) -> caf::result<customer_profile> {
        std::string id = m.customer_id;
        if (!valid_customer_id(id))
          return make_failure(failure_kind::not_found, "customer_not_found",
                              fmt::format("Customer with ID {} not found or update failed", id));
        json body = changes_body(m);
        input::issue_list issues;
        input::object_reader in{body, {"body"}, issues};
        json changes = read_profile_changes(in);
        if (!issues.empty()) return make_failure(invalid_input(issues));
        return answer<customer_profile>(self, [id, changes](pqxx::work& tx) {
          auto r = store::update_profile(tx, id, changes);
          if (!r.ok()) return store::result<customer_profile>::from(r);
          return store::result<customer_profile>::of(store::summary_of(tx, *r.value));
        });
      },
      [self](list_customers& m) -> caf::result<customer_list> {
        json body = filter_body(m.filter);
        input::issue_list issues;
        input::object_reader in{body, {"filter"}, issues};
        store::profile_filter f;
        read_profile_filter(in, f);
        if (m.skip < 0) issues.push_back({{"skip"}, "ensure this value is greater than or equal to 0", "value_error.number.not_ge"});
        if (m.limit < 1 || m.limit > 1000)
          issues.push_back({{"limit"}, "limit must be between 1 and 1000", "value_error.number.not_in_range"});
        if (!issues.empty()) return make_failure(invalid_input(issues));
        f.skip = m.skip;
        f.limit = m.limit;
        return answer<customer_list>(self, [f](pqxx::work& tx) {
          customer_list out;
          out.customers = store::summaries_of(tx, store::list_profiles(tx, f));
          out.total = store::count_profiles(tx, f);
          return store::result<customer_list>::of(std::move(out));
        });
      },
      [self](quote_redemption& m) -> caf::result<redemption> {
        return answer<redemption>(self, [m](pqxx::work& tx) { return store::quote_points(tx, m); });
      },
      [self](redeem_points& m) -> caf::result<redemption> {
        return answer<redemption>(self, [m](pqxx::work& tx) { return store::redeem(tx, m); });
      },
      [self](restore_points& m) -> caf::result<redemption> {
        return answer<redemption>(self, [m](pqxx::work& tx) { return store::restore(tx, m); });
      },
      [self](redeem_store_credit& m) -> caf::result<credit_result> {
        return answer<credit_result>(self, [m](pqxx::work& tx) { return store::redeem_credit(tx, m); });
      },
      [self](restore_store_credit& m) -> caf::result<credit_result> {
        return answer<credit_result>(self, [m](pqxx::work& tx) { return store::restore_credit(tx, m); });
      },
      [self](add_store_credit& m) -> caf::result<credit_result> {
        return answer<credit_result>(self, [m](pqxx::work& tx) { return store::add_credit(tx, m); });
      },
      [self](record_interaction& m) -> caf::result<interaction_recorded> {
        json body = interaction_body(m);
        input::issue_list issues;
        input::object_reader in{body, {"body"}, issues};
        json f = read_interaction(in);
        if (!issues.empty()) return make_failure(invalid_input(issues));
        std::string id = m.customer_id;
        return answer<interaction_recorded>(self, [id, f](pqxx::work& tx) {
          auto r = store::add_interaction(tx, id, f);
          if (!r.ok()) return store::result<interaction_recorded>::from(r);
          return store::result<interaction_recorded>::of(
              interaction_recorded{(*r.value)["interaction_id"].get<std::string>(), r.value->dump()});
        });
      },
      [self](get_preferences& m) -> caf::result<preferences> {
        std::string id = m.customer_id;
        return answer<preferences>(self, [id](pqxx::work& tx) {
          auto r = store::get_preferences(tx, id);
          if (!r.ok()) return store::result<preferences>::from(r);
          return store::result<preferences>::of(preferences{id, r.value->dump()});
        });
      },
      [self](count_active_customers& m) -> caf::result<count_reply> {
        int64_t days = std::clamp<int64_t>(m.days, 1, 3650);
        return answer<count_reply>(self, [days](pqxx::work& tx) {
          return store::result<count_reply>::of(count_reply{store::count_active(tx, days)});
        });
      },
      [self](expire_points& m) -> caf::result<count_reply> {
        std::string as_of = m.as_of;
        return answer<count_reply>(self, [as_of](pqxx::work& tx) {
          return store::result<count_reply>::of(count_reply{store::expire_lots(tx, as_of)});
        });
      },
      [self](review_tiers& m) -> caf::result<count_reply> {
        std::string as_of = m.as_of;
        return answer<count_reply>(self, [as_of](pqxx::work& tx) {
          return store::result<count_reply>::of(count_reply{store::review_tier_expiries(tx, as_of)});
        });
      },
      [self](outbox_stats&) -> caf::result<outbox_stats_reply> {
        return answer<outbox_stats_reply>(self, [](pqxx::work& tx) {
          return store::result<outbox_stats_reply>::of(store::outbox_statistics(tx));
        });
      },
      [self](event& e) {
        if (!order_event_matters(e)) return acknowledge_event(self->state.shell->context(), e.event_id);
        self->state.pending_events.push_back({std::move(e), 0});
        apply_next_events(self);
      },
      [self](loyalty_tick_atom) { run_due_loyalty_jobs(self); },
  };
}

}  // namespace
}  // namespace customer

caf::actor spawn_customer_agent(caf::local_actor* supervisor, const agent_context& ctx) {
  return caf::actor_cast<caf::actor>(supervisor->spawn<caf::linked>(customer::customer_agent, ctx));
}

}  // namespace mercato
