// The domain agents' test fixture: a fresh migrated database (optionally seeded with db/seed), the
// pool and outbox relay, an event bus that records every event, and a supervisor running the given
// agents with their real factories. Tests drive agents with typed messages (ask) or through their
// typed REST door (http) — no sockets. One fixture per test case.
//
//   agent_fixture f{{product_spec(), inventory_spec()}, {.seed = true}};
//   auto r = f.ask<inventory_actor, reservation_set>("inventory", reserve_stock{...});
//   REQUIRE(r.ok());
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "db/database.hpp"
#include "mercato/agent_actor.hpp"
#include "mercato/agent_directory.hpp"
#include "mercato/agent_spec.hpp"
#include "mercato/event.hpp"
#include "runtime/agent_error.hpp"
#include "runtime/supervisor.hpp"
#include "support/db_fixture.hpp"

namespace mercato::test {

// A registry row for `name` (copied from the real registry) with `factory` as its spawn function.
agent_spec spec_for(std::string_view name, agent_factory factory);

struct fixture_options {
  bool seed = false;                  // load db/seed/*.sql after migrating
  // Edits the configuration the agents see (ctx.settings), e.g. a short payment window.
  std::function<void(config&)> adjust;
  bool fault_injection = true;
  size_t pool_size = 4;
  std::chrono::milliseconds call_timeout{3000};
};

// A reply or the failure that came instead.
template <class T>
struct reply {
  std::optional<T> value;
  failure error;
  bool ok() const noexcept { return value.has_value(); }
  T& operator*() { return *value; }
  T* operator->() { return &*value; }
};

struct http_reply {
  int status = 0;
  std::string body;
  header_list headers;
  nlohmann::json json() const;  // throws (with the body) when not JSON
  std::string header(std::string_view name) const;
};

class agent_fixture {
 public:
  explicit agent_fixture(std::vector<agent_spec> agents, fixture_options options = {});
  ~agent_fixture();
  agent_fixture(const agent_fixture&) = delete;
  agent_fixture& operator=(const agent_fixture&) = delete;

  // Typed request to the running incarnation of `agent`; waits up to `timeout`.
  template <class Handle, class Reply, class Message>
  reply<Reply> ask(std::string_view agent, Message message,
                   std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    reply<Reply> out;
    auto raw = directory_->handle(agent);
    if (!raw) {
      out.error = failure{failure_kind::unavailable, "not_running", std::string{agent} + " is not running", {}};
      return out;
    }
    (*self_)->request(caf::actor_cast<Handle>(raw), timeout, std::move(message))
        .receive([&](Reply& r) { out.value = std::move(r); },
                 [&](caf::error& e) { out.error = read_failure(e); });
    return out;
  }

  // One request per message to `agent`, all sent before any reply is read, so that the agent
  // finds them waiting together (shared statements). Replies in the messages' order.
  template <class Handle, class Reply, class Message>
  std::vector<reply<Reply>> ask_all(std::string_view agent, std::vector<Message> messages,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::vector<reply<Reply>> out(messages.size());
    auto raw = directory_->handle(agent);
    if (!raw) {
      for (auto& r : out)
        r.error = failure{failure_kind::unavailable, "not_running", std::string{agent} + " is not running", {}};
      return out;
    }
    auto receiver = caf::actor_cast<Handle>(raw);
    using pending = decltype((*self_)->request(receiver, timeout, std::move(messages.front())));
    std::vector<pending> sent;
    sent.reserve(messages.size());
    for (auto& m : messages) sent.push_back((*self_)->request(receiver, timeout, std::move(m)));
    for (size_t i = 0; i < sent.size(); ++i)
      sent[i].receive([&](Reply& r) { out[i].value = std::move(r); },
                      [&](caf::error& e) { out[i].error = read_failure(e); });
    return out;
  }

  // A REST call through the agent's typed door (`target` may carry "?query").
  http_reply http(std::string_view agent, std::string method, std::string target,
                  std::string body = {}, header_list headers = {});
  http_reply get(std::string_view agent, std::string target) { return http(agent, "GET", std::move(target)); }
  http_reply post(std::string_view agent, std::string target, const nlohmann::json& body,
                  header_list headers = {}) {
    return http(agent, "POST", std::move(target), body.dump(), std::move(headers));
  }

  // Every event published so far (bus order), or those named `publisher.name`.
  std::vector<event> events() const;
  std::vector<event> events(std::string_view qualified_name) const;
  // Waits until `pred` holds (polling), e.g. for an event or a background job.
  bool eventually(const std::function<bool()>& pred,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

  // Console-style control: restart / crash an agent through the supervisor, or stop it (an
  // operator's stop: not restarted).
  control_reply inject(const std::string& agent, const std::string& kind, uint32_t millis = 0);
  control_reply stop(const std::string& agent);
  bool wait_running(std::string_view agent, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  const fresh_database& database() const { return *db_; }
  const config& settings() const { return settings_; }
  db::pool& pool();
  agent_directory& directory() { return *directory_; }
  event_bus& bus() { return bus_; }
  caf::actor_system& system() { return *system_; }

 private:
  std::unique_ptr<migrated_database> db_;
  std::vector<agent_spec> specs_;
  config settings_;
  std::unique_ptr<agent_directory> directory_;
  event_bus bus_;
  mutable std::mutex mutex_;
  std::vector<event> seen_;
  std::unique_ptr<db::database> database_;
  caf::actor_system_config caf_config_;
  std::unique_ptr<caf::actor_system> system_;
  std::unique_ptr<caf::scoped_actor> self_storage_;
  caf::scoped_actor* self_ = nullptr;
  supervisor_actor supervisor_;
};

}  // namespace mercato::test
