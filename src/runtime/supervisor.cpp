// The supervisor actor (see supervisor.hpp). Children are spawned linked; the exit handler turns
// their exits into restart decisions. Every decision is logged, counted in the directory and
// published on the event bus as a supervisor.* event.
#include "runtime/supervisor.hpp"

#include <algorithm>
#include <deque>
#include <random>

#include <caf/all.hpp>
#include <fmt/format.h>

#include "http/json_text.hpp"
#include "log/log.hpp"
#include "mercato/agent_actor.hpp"
#include "mercato/agent_context.hpp"
#include "mercato/agent_directory.hpp"
#include "mercato/event.hpp"
#include "runtime/platform_agent.hpp"
#include "runtime/restart_policy.hpp"

namespace mercato {
namespace {

using clock_type = std::chrono::steady_clock;

// What the supervisor is doing with a child right now.
enum class phase : uint8_t {
  down,        // not running (never started, stopped, failed, or waiting for a backoff restart)
  starting,    // spawned during the ordered start, first heartbeat not answered yet
  running,
  stopping,    // exit requested by us (stop, restart, shutdown): its exit is not a crash
};

struct child {
  size_t index = 0;
  caf::actor handle;
  uint32_t incarnation = 0;
  phase current = phase::down;
  bool restart_after_stop = false;  // a manual restart: respawn once the exit arrives
  uint32_t respawn_generation = 0;  // invalidates stale delayed respawns
  restart_window window;
  bool ping_outstanding = false;
  std::vector<caf::typed_response_promise<control_reply>> waiting;  // stop/restart callers
};

struct supervisor_state {
  supervisor_setup setup;
  std::vector<child> children;
  restart_window total_window;
  size_t next_to_start = 0;
  bool started = false;
  std::vector<caf::typed_response_promise<bool>> start_waiters;
  bool shutting_down = false;
  std::vector<caf::typed_response_promise<bool>> shutdown_waiters;
  uint64_t ping_sequence = 0;
  // Children cut loose by abandon(), most recent last: an exit one of them sent just before it was
  // unlinked may still be in the mailbox, and must not be taken for an exit from outside.
  std::deque<caf::actor_addr> abandoned;
  std::mt19937_64 rng{std::random_device{}()};
  const char* name = "supervisor";
};

using self_ptr = supervisor_actor::stateful_pointer<supervisor_state>;

agent_entry& entry_of(self_ptr self, const child& c) {
  return self->state.setup.directory->at(c.index);
}

std::string_view name_of(self_ptr self, const child& c) { return entry_of(self, c).name(); }

child* find_child(self_ptr self, std::string_view name) {
  for (auto& c : self->state.children)
    if (name_of(self, c) == name) return &c;
  return nullptr;
}

child* find_child(self_ptr self, const caf::actor_addr& addr) {
  for (auto& c : self->state.children)
    if (c.handle && c.handle.address() == addr) return &c;
  return nullptr;
}

void publish(self_ptr self, std::string_view short_name, std::string_view agent,
             std::string extra_fields = {}) {
  if (!self->state.setup.events) return;
  std::string payload = "{\"agent\":" + http::json_string(agent) + extra_fields + "}";
  self->state.setup.events->publish(
      make_event("supervisor", std::string(short_name), std::move(payload), std::string(agent)));
}

void reply_waiting(child& c, control_reply r) {
  for (auto& p : c.waiting) p.deliver(r);
  c.waiting.clear();
}

// Spawns a new incarnation of `c` and routes to it at once (messages queue until it is ready).
void spawn_child(self_ptr self, child& c, phase as) {
  auto& entry = entry_of(self, c);
  const auto& spec = entry.spec();
  agent_context ctx;
  ctx.spec = &spec;
  ctx.incarnation = ++c.incarnation;
  ctx.directory = self->state.setup.directory;
  ctx.events = self->state.setup.events;
  ctx.call_timeout = self->state.setup.call_timeout;
  ctx.fault_injection = self->state.setup.fault_injection;
  ctx.database = self->state.setup.database;
  ctx.relay = self->state.setup.relay;
  ctx.settings = self->state.setup.settings;
  auto factory = spec.factory ? spec.factory : &spawn_platform_agent;
  c.handle = factory(self, ctx);
  c.current = as;
  c.ping_outstanding = false;
  if (as == phase::running) entry.set_running(c.handle, c.incarnation);
  else entry.set_state(agent_run_state::starting);
  log::info("supervisor", "agent_spawned",
            {{"agent", spec.name}, {"incarnation", c.incarnation}});
}

void start_next(self_ptr self);
void continue_shutdown(self_ptr self);
void abandon(self_ptr self, child& c);
void restart_child(self_ptr self, child& c, restart_reason reason);

void mark_started(self_ptr self, child& c) {
  auto& entry = entry_of(self, c);
  c.current = phase::running;
  entry.set_running(c.handle, c.incarnation);
  log::info("supervisor", "agent_started", {{"agent", entry.name()}});
  publish(self, "agent_started", entry.name());
}

// Ordered start: the next child is spawned only once the previous one answered a heartbeat.
void start_next(self_ptr self) {
  auto& st = self->state;
  while (st.next_to_start < st.children.size()) {
    auto& c = st.children[st.next_to_start++];
    if (entry_of(self, c).state() == agent_run_state::disabled) continue;
    spawn_child(self, c, phase::starting);
    auto incarnation = c.incarnation;
    auto index = c.index;
    self->request(caf::actor_cast<agent_actor>(c.handle), st.setup.limits.heartbeat_deadline * 5,
                  heartbeat_atom::value, uint64_t{0})
        .then(
            [self, index, incarnation](heartbeat_reply&) {
              auto& ch = self->state.children[index];
              if (ch.incarnation == incarnation && ch.current == phase::starting)
                mark_started(self, ch);
              start_next(self);
            },
            [self, index, incarnation](caf::error& err) {
              // The child died during start (its exit is handled by the exit handler) or hung
              // in it (handled here like any hang). The start sequence goes on either way.
              auto& ch = self->state.children[index];
              if (err == caf::sec::request_timeout && ch.incarnation == incarnation &&
                  ch.current == phase::starting) {
                log::error("supervisor", "agent_hang_detected",
                           {{"agent", name_of(self, ch)}, {"during", "start"}});
                abandon(self, ch);
                ch.current = phase::down;
                restart_child(self, ch, restart_reason::hang);
              }
              start_next(self);
            });
    return;
  }
  if (!st.started) {
    st.started = true;
    log::info("supervisor", "all_agents_started", {{"agents", st.children.size()}});
    for (auto& p : st.start_waiters) p.deliver(true);
    st.start_waiters.clear();
  }
}

void mark_failed(self_ptr self, child& c, std::string_view why) {
  auto& entry = entry_of(self, c);
  c.current = phase::down;
  log::error("supervisor", "agent_failed",
             {{"agent", entry.name()}, {"reason", why}, {"restarts", entry.restarts_total()}});
  // Alert first, state second: whoever sees `failed` in the directory (console, /health, a test)
  // can rely on the alert having gone out already.
  publish(self, "agent_failed", entry.name(),
          fmt::format(",\"reason\":{},\"severity\":\"critical\"", http::json_string(why)));
  entry.set_state(agent_run_state::failed);
}

// An automatic restart after a crash or a hang, subject to intensity limits and backoff.
void restart_child(self_ptr self, child& c, restart_reason reason) {
  auto& st = self->state;
  auto& entry = entry_of(self, c);
  const auto& limits = st.setup.limits;
  const auto now = clock_type::now();
  // Off the routing table before the restart is counted: nothing may reach the dead handle, and
  // whoever sees the new count also sees that the agent is not serving yet.
  entry.set_state(agent_run_state::restarting);
  entry.count_restart(reason);
  if (c.window.record_and_check(now, limits.restart_intensity, limits.restart_period)) {
    mark_failed(self, c,
                fmt::format("more than {} restarts in {} ms", limits.restart_intensity,
                            limits.restart_period.count()));
    return;
  }
  if (st.total_window.record_and_check(now, limits.total_restart_intensity,
                                       limits.total_restart_period)) {
    auto why = fmt::format("supervisor restart intensity exceeded: more than {} restarts in {} ms",
                           limits.total_restart_intensity, limits.total_restart_period.count());
    log::error("supervisor", "supervisor_escalation", {{"reason", why}});
    publish(self, "supervisor_escalation", "supervisor");
    if (st.setup.on_escalation) st.setup.on_escalation(why);
    self->quit(caf::make_error(caf::sec::runtime_error, why));
    return;
  }
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  const auto delay = backoff_delay(c.window.count(now, limits.restart_period) - 1,
                                   {limits.backoff_min, limits.backoff_max, limits.backoff_jitter},
                                   unit(st.rng));
  if (delay.count() == 0) {
    spawn_child(self, c, phase::running);
    publish(self, "agent_restarted", entry.name(),
            fmt::format(",\"reason\":\"{}\",\"incarnation\":{}", to_string(reason), c.incarnation));
    return;
  }
  c.current = phase::down;
  entry.set_state(agent_run_state::restarting);
  entry.set_restart_due(clock_type::now() + delay);
  log::info("supervisor", "agent_restart_scheduled",
            {{"agent", entry.name()}, {"delay_ms", delay.count()}});
  self->delayed_send(self, delay, respawn_atom::value, std::string(entry.name()),
                     ++c.respawn_generation);
}

void on_child_exit(self_ptr self, child& c, const caf::error& reason) {
  auto& entry = entry_of(self, c);
  const bool abnormal = static_cast<bool>(reason);
  const std::string reason_text = abnormal ? self->system().render(reason) : "normal";
  const phase was = c.current;
  c.handle = nullptr;
  c.current = phase::down;
  entry.set_last_exit_reason(reason_text);

  if (was == phase::stopping) {  // an exit we asked for
    if (c.restart_after_stop && !self->state.shutting_down) {
      c.restart_after_stop = false;
      entry.count_restart(restart_reason::manual);
      spawn_child(self, c, phase::running);
      log::info("supervisor", "agent_restarted",
                {{"agent", entry.name()}, {"reason", "manual"}, {"incarnation", c.incarnation}});
      publish(self, "agent_restarted", entry.name(), ",\"reason\":\"manual\"");
      reply_waiting(c, {true, "", "restarted"});
    } else {
      log::info("supervisor", "agent_stopped", {{"agent", entry.name()}});
      publish(self, "agent_stopped", entry.name());
      entry.set_state(agent_run_state::stopped);
      reply_waiting(c, {true, "", "stopped"});
    }
    if (self->state.shutting_down) continue_shutdown(self);
    return;
  }

  log::warn("supervisor", abnormal ? "agent_crashed" : "agent_exited",
            {{"agent", entry.name()}, {"reason", reason_text}, {"incarnation", c.incarnation}});
  if (abnormal)
    publish(self, "agent_crashed", entry.name(),
            fmt::format(",\"exit_reason\":{},\"restart_count\":{}", http::json_string(reason_text),
                        entry.restarts_total()));
  if (self->state.shutting_down) return;
  if (should_restart(entry.restart(), abnormal)) {
    restart_child(self, c, restart_reason::crash);
  } else {
    publish(self, "agent_stopped", entry.name());
    entry.set_state(agent_run_state::stopped);
  }
}

// Asks a running child to exit; its exit arrives through the exit handler.
void request_stop(self_ptr self, child& c) {
  c.current = phase::stopping;
  entry_of(self, c).set_state(agent_run_state::stopped);  // no new calls are routed to it
  // Anonymous on purpose: an exit_msg from the supervisor itself would make the child unlink
  // from it before quitting, and its exit would never reach the exit handler.
  caf::anon_send_exit(c.handle, caf::exit_reason::user_shutdown);
  self->delayed_send(self, self->state.setup.limits.shutdown_timeout, deadline_atom::value,
                     std::string(name_of(self, c)), c.incarnation);
}

// A child that does not answer (hung) or does not stop in time is cut loose: unlinked and killed,
// so its eventual exit is no longer ours; its scheduler thread is freed when its handler returns.
void abandon(self_ptr self, child& c) {
  if (!c.handle) return;
  auto& abandoned = self->state.abandoned;
  abandoned.push_back(c.handle.address());
  if (abandoned.size() > 64) abandoned.pop_front();  // such an exit arrives at once, if at all
  self->unlink_from(c.handle);
  self->send_exit(c.handle, caf::exit_reason::kill);
  c.handle = nullptr;
}

void continue_shutdown(self_ptr self) {
  auto& st = self->state;
  for (auto it = st.children.rbegin(); it != st.children.rend(); ++it) {
    if (it->current == phase::stopping) return;  // wait for this one first (reverse order)
    if (it->handle) {
      request_stop(self, *it);
      return;
    }
  }
  log::info("supervisor", "all_agents_stopped");
  for (auto& p : st.shutdown_waiters) p.deliver(true);
  st.shutdown_waiters.clear();
  self->quit();
}

void heartbeat_round(self_ptr self) {
  auto& st = self->state;
  const auto deadline = st.setup.limits.heartbeat_deadline;
  for (auto& c : st.children) {
    if (c.current != phase::running || c.ping_outstanding || !c.handle) continue;
    c.ping_outstanding = true;
    const auto sent = clock_type::now();
    const auto index = c.index;
    const auto incarnation = c.incarnation;
    self->request(caf::actor_cast<agent_actor>(c.handle), deadline, heartbeat_atom::value,
                  ++st.ping_sequence)
        .then(
            [self, index, incarnation, sent](heartbeat_reply& r) {
              auto& ch = self->state.children[index];
              if (ch.incarnation != incarnation) return;
              ch.ping_outstanding = false;
              auto& entry = entry_of(self, ch);
              entry.mailbox_size.store(r.mailbox_size, std::memory_order_relaxed);
              entry.last_ping_us.store(std::chrono::duration_cast<std::chrono::microseconds>(
                                           clock_type::now() - sent)
                                           .count(),
                                       std::memory_order_relaxed);
            },
            [self, index, incarnation, deadline](caf::error& err) {
              auto& ch = self->state.children[index];
              if (ch.incarnation != incarnation) return;
              ch.ping_outstanding = false;
              if (err != caf::sec::request_timeout || ch.current != phase::running) return;
              auto& entry = entry_of(self, ch);
              log::error("supervisor", "agent_hang_detected",
                         {{"agent", entry.name()}, {"missed_deadline_ms", deadline.count()}});
              publish(self, "agent_hang_detected", entry.name(),
                      fmt::format(",\"missed_deadline_ms\":{}", deadline.count()));
              entry.set_last_exit_reason(
                  fmt::format("hang: no heartbeat answer within {} ms", deadline.count()));
              abandon(self, ch);
              ch.current = phase::down;
              restart_child(self, ch, restart_reason::hang);
            });
  }
}

child_status status_of(self_ptr self, const child& c) {
  const auto& e = entry_of(self, c);
  child_status s;
  s.agent = std::string(e.name());
  s.state = std::string(to_string(e.state()));
  s.restart_type = std::string(to_string(e.restart()));
  s.mode = e.degraded() ? "degraded" : "normal";
  s.incarnation = c.incarnation;
  s.restarts = e.restarts_total();
  s.restarts_crash = e.restarts(restart_reason::crash);
  s.restarts_hang = e.restarts(restart_reason::hang);
  s.restarts_manual = e.restarts(restart_reason::manual);
  if (e.state() == agent_run_state::running)
    s.uptime_ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() -
                                                                        e.started_at())
                      .count();
  s.last_ping_us = e.last_ping_us.load(std::memory_order_relaxed);
  s.mailbox_size = e.mailbox_size.load(std::memory_order_relaxed);
  s.last_exit_reason = e.last_exit_reason();
  return s;
}

control_reply unknown_agent(const std::string& name) {
  return {false, "not_found", fmt::format("unknown agent '{}'", name)};
}

supervisor_actor::behavior_type supervisor_impl(self_ptr self, supervisor_setup setup) {
  auto& st = self->state;
  st.setup = std::move(setup);
  for (size_t i = 0; i < st.setup.directory->size(); ++i) {
    st.children.emplace_back();
    st.children.back().index = i;
  }
  self->set_exit_handler([self](caf::exit_msg& em) {
    if (auto* c = find_child(self, em.source)) {
      on_child_exit(self, *c, em.reason);
      return;
    }
    // A child that stopped by itself just as it was abandoned (say, a stop deadline that fired as
    // its hang ended): its exit is no longer ours, and the child was replaced already.
    auto& abandoned = self->state.abandoned;
    if (auto it = std::find(abandoned.begin(), abandoned.end(), em.source); it != abandoned.end()) {
      abandoned.erase(it);
      return;
    }
    // An exit from outside (not a child): go down with it; linked children follow.
    if (em.reason) self->quit(em.reason);
  });
  self->attach_functor([directory = st.setup.directory](const caf::error&) {
    for (size_t i = 0; i < directory->size(); ++i)
      if (directory->at(i).state() != agent_run_state::disabled)
        directory->at(i).set_state(agent_run_state::stopped);
  });
  start_next(self);
  self->delayed_send(self, st.setup.limits.heartbeat_interval, tick_atom::value);

  return {
      [self](started_atom) -> caf::result<bool> {
        if (self->state.started) return true;
        auto p = self->make_response_promise<bool>();
        self->state.start_waiters.push_back(p);
        return p;
      },
      [self](child_status_atom, const std::string& agent) -> std::vector<child_status> {
        std::vector<child_status> out;
        for (const auto& c : self->state.children)
          if (agent.empty() || name_of(self, c) == agent) out.push_back(status_of(self, c));
        return out;
      },
      [self](restart_atom, const std::string& agent,
             const std::string& reason) -> caf::result<control_reply> {
        auto* c = find_child(self, agent);
        if (!c) return unknown_agent(agent);
        auto& entry = entry_of(self, *c);
        if (entry.state() == agent_run_state::disabled || self->state.shutting_down)
          return control_reply{false, "conflict", fmt::format("agent '{}' is disabled", agent)};
        log::info("supervisor", "agent_restart_requested", {{"agent", agent}, {"reason", reason}});
        if (!c->handle || c->current == phase::down) {
          // Stopped, failed or waiting for a backoff: an operator restart starts it afresh.
          c->window.clear();
          ++c->respawn_generation;
          entry.count_restart(restart_reason::manual);
          spawn_child(self, *c, phase::running);
          publish(self, "agent_restarted", agent, ",\"reason\":\"manual\"");
          return control_reply{true, "", "restarted"};
        }
        auto p = self->make_response_promise<control_reply>();
        c->waiting.push_back(p);
        if (c->current != phase::stopping) {
          c->restart_after_stop = true;
          request_stop(self, *c);
          entry.set_state(agent_run_state::restarting);
        }
        return p;
      },
      [self](stop_atom, const std::string& agent) -> caf::result<control_reply> {
        auto* c = find_child(self, agent);
        if (!c) return unknown_agent(agent);
        if (!c->handle) {
          ++c->respawn_generation;  // cancels a pending backoff restart
          if (entry_of(self, *c).state() != agent_run_state::disabled)
            entry_of(self, *c).set_state(agent_run_state::stopped);
          return control_reply{true, "", "already stopped"};
        }
        auto p = self->make_response_promise<control_reply>();
        c->waiting.push_back(p);
        c->restart_after_stop = false;
        if (c->current != phase::stopping) request_stop(self, *c);
        return p;
      },
      [self](start_atom, const std::string& agent) -> control_reply {
        auto* c = find_child(self, agent);
        if (!c) return unknown_agent(agent);
        auto& entry = entry_of(self, *c);
        if (entry.state() == agent_run_state::disabled)
          return {false, "conflict", fmt::format("agent '{}' is disabled in the config", agent)};
        if (c->handle) return {false, "conflict", fmt::format("agent '{}' is running", agent)};
        c->window.clear();
        ++c->respawn_generation;
        spawn_child(self, *c, phase::running);
        publish(self, "agent_started", agent);
        return {true, "", "started"};
      },
      [self](inject_atom, const std::string& agent, const std::string& kind,
             uint32_t millis) -> control_reply {
        if (!self->state.setup.fault_injection)
          return {false, "forbidden", "fault injection is disabled (admin.fault_injection)"};
        auto* c = find_child(self, agent);
        if (!c) return unknown_agent(agent);
        if (!c->handle)
          return {false, "conflict", fmt::format("agent '{}' is not running", agent)};
        self->anon_send(caf::actor_cast<agent_actor>(c->handle), fault_atom::value,
                        fault_injection{kind, millis});
        return {true, "", fmt::format("{} injected into {}", kind, agent)};
      },
      [self](shutdown_atom) -> caf::result<bool> {
        auto p = self->make_response_promise<bool>();
        self->state.shutdown_waiters.push_back(p);
        if (!self->state.shutting_down) {
          self->state.shutting_down = true;
          log::info("supervisor", "shutdown_started");
          continue_shutdown(self);
        }
        return p;
      },
      [self](tick_atom) {
        if (self->state.shutting_down) return;
        heartbeat_round(self);
        self->delayed_send(self, self->state.setup.limits.heartbeat_interval, tick_atom::value);
      },
      [self](respawn_atom, const std::string& agent, uint32_t generation) {
        auto* c = find_child(self, agent);
        if (!c || c->respawn_generation != generation || c->handle || self->state.shutting_down)
          return;
        spawn_child(self, *c, phase::running);
        publish(self, "agent_restarted", agent,
                fmt::format(",\"reason\":\"backoff\",\"incarnation\":{}", c->incarnation));
      },
      [self](deadline_atom, const std::string& agent, uint32_t incarnation) {
        auto* c = find_child(self, agent);
        if (!c || c->incarnation != incarnation || c->current != phase::stopping) return;
        log::warn("supervisor", "agent_stop_timeout", {{"agent", agent}});
        // Did not stop in time: kill it and treat it as stopped.
        abandon(self, *c);
        on_child_exit(self, *c, caf::make_error(caf::exit_reason::kill));
      },
  };
}

}  // namespace

supervisor_actor spawn_supervisor(caf::actor_system& system, supervisor_setup setup) {
  return system.spawn(supervisor_impl, std::move(setup));
}

}  // namespace mercato
