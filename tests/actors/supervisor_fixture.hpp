// A supervisor over a small test registry (one agent per restart type), driven with typed
// messages through a scoped_actor. Shared by the supervision tests.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "mercato/agent_actor.hpp"
#include "mercato/agent_directory.hpp"
#include "mercato/event.hpp"
#include "runtime/supervisor.hpp"

namespace mercato::test {

inline const std::vector<agent_spec>& test_registry() {
  static const std::vector<agent_spec> rows{
      {"alpha", 0, "alpha", "alpha", "Alpha Agent", "alpha_agent", restart_type::permanent, nullptr},
      {"beta", 1, "beta", "beta", "Beta Agent", "beta_agent", restart_type::transient, nullptr},
      {"gamma", 2, "gamma", "gamma", "Gamma Agent", "gamma_agent", restart_type::temporary, nullptr},
  };
  return rows;
}

// Polls `pred` until it holds or `timeout` passes.
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

inline supervisor_config fast_limits() {
  supervisor_config s;
  s.restart_intensity = 100;
  s.restart_period = std::chrono::seconds(30);
  s.total_restart_intensity = 1000;
  s.backoff_min = std::chrono::milliseconds(1);
  s.backoff_max = std::chrono::milliseconds(5);
  // A deadline far above a loaded machine's scheduling stalls: a healthy agent taken for hung
  // would be restarted and break the tests' exact incarnation counts.
  s.heartbeat_interval = std::chrono::milliseconds(50);
  s.heartbeat_deadline = std::chrono::milliseconds(1000);
  s.shutdown_timeout = std::chrono::milliseconds(500);
  return s;
}

class supervisor_fixture {
 public:
  explicit supervisor_fixture(supervisor_config limits = fast_limits(),
                              const std::vector<agent_spec>& registry = test_registry(),
                              bool fault_injection = true)
      : directory_(rows(registry)), system_(configure(caf_config_)), self_(system_) {
    events_.subscribe("supervisor.*", [this](const event& e) {
      std::lock_guard<std::mutex> guard{mutex_};
      events_seen_.push_back(e);
    });
    supervisor_setup setup;
    setup.directory = &directory_;
    setup.events = &events_;
    setup.limits = limits;
    setup.fault_injection = fault_injection;
    setup.on_escalation = [this](const std::string& reason) {
      std::lock_guard<std::mutex> guard{mutex_};
      escalation_ = reason;
    };
    supervisor_ = spawn_supervisor(system_, std::move(setup));
    bool started = false;
    self_->request(supervisor_, std::chrono::seconds(5), started_atom::value)
        .receive([&](bool ok) { started = ok; }, [](caf::error&) {});
    if (!started) throw std::runtime_error("supervisor did not start its agents");
  }

  ~supervisor_fixture() {
    self_->send_exit(supervisor_, caf::exit_reason::user_shutdown);
    // Hung test agents may still sleep; the system waits for them in its destructor.
  }

  agent_directory& directory() { return directory_; }
  agent_entry& entry(std::string_view name) { return *directory_.find(name); }
  supervisor_actor supervisor() { return supervisor_; }
  caf::scoped_actor& self() { return self_; }
  caf::actor_system& system() { return system_; }

  // Sends a typed request to the supervisor and returns the reply (throws on error).
  template <class Reply, class... Ts>
  Reply ask(Ts&&... xs) {
    Reply out{};
    std::string failure;
    self_->request(supervisor_, std::chrono::seconds(5), std::forward<Ts>(xs)...)
        .receive([&](Reply& r) { out = std::move(r); },
                 [&](caf::error& e) { failure = system_.render(e); });
    if (!failure.empty()) throw std::runtime_error(failure);
    return out;
  }

  control_reply inject(const std::string& agent, const std::string& kind, uint32_t millis = 0) {
    return ask<control_reply>(inject_atom::value, agent, kind, millis);
  }

  // GET <path> on the agent's current incarnation through its typed interface.
  http_response get(std::string_view agent, std::string path) {
    http_response out;
    out.status = -1;
    auto handle = caf::actor_cast<agent_actor>(directory_.handle(agent));
    if (!handle) return out;
    http_request req;
    req.method = "GET";
    req.path = std::move(path);
    self_->request(handle, std::chrono::seconds(2), std::move(req))
        .receive([&](http_response& r) { out = std::move(r); }, [](caf::error&) {});
    return out;
  }

  std::vector<event> events() {
    std::lock_guard<std::mutex> guard{mutex_};
    return events_seen_;
  }
  std::vector<std::string> event_agents(const std::string& name) {
    std::vector<std::string> out;
    for (const auto& e : events())
      if (e.name == name) out.push_back(e.correlation_id);
    return out;
  }
  std::string escalation() {
    std::lock_guard<std::mutex> guard{mutex_};
    return escalation_;
  }

 private:
  static std::vector<agent_directory::row> rows(const std::vector<agent_spec>& registry) {
    std::vector<agent_directory::row> out;
    for (const auto& spec : registry) out.push_back({&spec, spec.restart, true});
    return out;
  }
  static caf::actor_system_config& configure(caf::actor_system_config& cfg) {
    cfg.set("scheduler.max-threads", size_t{2});
    return cfg;
  }

  // Declared so that everything an actor may touch outlives the actor system.
  agent_directory directory_;
  caf::actor_system_config caf_config_;
  std::mutex mutex_;
  std::vector<event> events_seen_;
  std::string escalation_;
  event_bus events_;
  caf::actor_system system_;
  caf::scoped_actor self_;
  supervisor_actor supervisor_;
};

}  // namespace mercato::test
