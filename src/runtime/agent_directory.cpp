// The live agent table (see agent_directory.hpp).
#include "mercato/agent_directory.hpp"

#include <algorithm>

#include "runtime/ask_deadlines.hpp"

namespace mercato {

std::string_view to_string(agent_run_state s) {
  switch (s) {
    case agent_run_state::stopped: return "stopped";
    case agent_run_state::starting: return "starting";
    case agent_run_state::running: return "running";
    case agent_run_state::restarting: return "restarting";
    case agent_run_state::failed: return "failed";
    case agent_run_state::disabled: return "disabled";
  }
  return "unknown";
}

std::string_view to_string(restart_reason r) {
  switch (r) {
    case restart_reason::crash: return "crash";
    case restart_reason::hang: return "hang";
    case restart_reason::manual: return "manual";
  }
  return "unknown";
}

agent_entry::agent_entry(const agent_spec& spec, restart_type restart, bool enabled)
    : spec_(&spec),
      restart_(restart),
      state_(enabled ? agent_run_state::stopped : agent_run_state::disabled) {}

caf::actor agent_entry::handle() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return handle_;
}

uint32_t agent_entry::restarts_total() const noexcept {
  uint32_t total = 0;
  for (const auto& r : restarts_) total += r.load(std::memory_order_relaxed);
  return total;
}

std::string agent_entry::last_exit_reason() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return last_exit_reason_;
}

std::chrono::steady_clock::time_point agent_entry::started_at() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return started_at_;
}

std::optional<std::chrono::steady_clock::time_point> agent_entry::restart_due() const noexcept {
  const auto ticks = restart_due_.load(std::memory_order_acquire);
  if (ticks == 0) return std::nullopt;
  return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(ticks));
}

std::optional<std::chrono::milliseconds> agent_entry::restart_in() const noexcept {
  const auto due = restart_due();
  if (!due) return std::nullopt;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*due - std::chrono::steady_clock::now());
  return std::max(left, std::chrono::milliseconds{0});
}

void agent_entry::set_restart_due(std::chrono::steady_clock::time_point due) noexcept {
  restart_due_.store(due.time_since_epoch().count(), std::memory_order_release);
}

void agent_entry::set_running(caf::actor handle, uint32_t incarnation) {
  restart_due_.store(0, std::memory_order_release);
  {
    std::lock_guard<std::mutex> guard{mutex_};
    handle_ = std::move(handle);
    started_at_ = std::chrono::steady_clock::now();
  }
  incarnation_.store(incarnation, std::memory_order_relaxed);
  state_.store(agent_run_state::running, std::memory_order_release);
}

void agent_entry::set_state(agent_run_state s) {
  restart_due_.store(0, std::memory_order_release);
  caf::actor old;  // released outside the lock
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (s != agent_run_state::running) old = std::exchange(handle_, caf::actor{});
  }
  state_.store(s, std::memory_order_release);
  // Asks the stopped incarnation held fail now rather than at their deadlines.
  if (old) ask_deadlines::recheck_receivers();
}

void agent_entry::count_restart(restart_reason r) noexcept {
  restarts_[static_cast<size_t>(r)].fetch_add(1, std::memory_order_relaxed);
}

void agent_entry::set_last_exit_reason(std::string reason) {
  std::lock_guard<std::mutex> guard{mutex_};
  last_exit_reason_ = std::move(reason);
}

agent_directory::agent_directory(const std::vector<row>& rows) {
  entries_.reserve(rows.size());
  for (const auto& r : rows)
    entries_.push_back(std::make_unique<agent_entry>(*r.spec, r.restart, r.enabled));
}

int agent_directory::index_of(std::string_view name) const {
  for (size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i]->name() == name) return static_cast<int>(i);
  return -1;
}

agent_entry* agent_directory::find(std::string_view name) {
  int i = index_of(name);
  return i < 0 ? nullptr : entries_[i].get();
}

const agent_entry* agent_directory::find(std::string_view name) const {
  int i = index_of(name);
  return i < 0 ? nullptr : entries_[i].get();
}

caf::actor agent_directory::handle(std::string_view name) const {
  const auto* e = find(name);
  return e ? e->handle() : caf::actor{};
}

bool agent_directory::all_running() const {
  for (const auto& e : entries_) {
    auto s = e->state();
    if (s != agent_run_state::running && s != agent_run_state::disabled) return false;
  }
  return true;
}

}  // namespace mercato
