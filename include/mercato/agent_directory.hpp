// The live table of agents: current actor handle, state and counters of each. The supervisor writes
// it; the gateway routes from it and agents find each other through it. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>

#include "mercato/agent_spec.hpp"

namespace mercato {

enum class agent_run_state : uint8_t { stopped, starting, running, restarting, failed, disabled };
std::string_view to_string(agent_run_state s);

enum class restart_reason : uint8_t { crash, hang, manual };
inline constexpr size_t restart_reason_count = 3;
std::string_view to_string(restart_reason r);

// One row. Counters are atomics so the gateway and /metrics read them without locking.
class agent_entry {
 public:
  agent_entry(const agent_spec& spec, restart_type restart, bool enabled);

  const agent_spec& spec() const noexcept { return *spec_; }
  std::string_view name() const noexcept { return spec_->name; }
  restart_type restart() const noexcept { return restart_; }

  agent_run_state state() const noexcept { return state_.load(std::memory_order_acquire); }
  // Handle of the serving incarnation, or an invalid handle when not running.
  caf::actor handle() const;

  uint32_t incarnation() const noexcept { return incarnation_.load(std::memory_order_relaxed); }
  uint32_t restarts(restart_reason r) const noexcept {
    return restarts_[static_cast<size_t>(r)].load(std::memory_order_relaxed);
  }
  uint32_t restarts_total() const noexcept;
  std::string last_exit_reason() const;
  std::chrono::steady_clock::time_point started_at() const;
  bool degraded() const noexcept { return degraded_.load(std::memory_order_relaxed); }
  // When a restart the supervisor put off by its backoff is due; nullopt when none is pending.
  // Lets a caller that cannot wait that long be refused at once, with an honest Retry-After.
  std::optional<std::chrono::steady_clock::time_point> restart_due() const noexcept;
  // The time left until restart_due (0 once it has passed); nullopt when none is pending.
  std::optional<std::chrono::milliseconds> restart_in() const noexcept;

  // Gateway accounting of calls waiting for this agent (for the in-flight cap and /metrics).
  std::atomic<uint32_t> in_flight{0};
  // Written by the supervisor from heartbeat replies.
  std::atomic<uint64_t> mailbox_size{0};
  std::atomic<int64_t> last_ping_us{-1};

  // -- supervisor side ------------------------------------------------------------------------
  void set_running(caf::actor handle, uint32_t incarnation);
  void set_state(agent_run_state s);  // clears the handle unless s == running
  void count_restart(restart_reason r) noexcept;
  void set_last_exit_reason(std::string reason);
  void set_degraded(bool d) noexcept { degraded_.store(d, std::memory_order_relaxed); }
  // After set_state(restarting): the backoff restart is scheduled for `due`. Any later
  // set_state or set_running clears it.
  void set_restart_due(std::chrono::steady_clock::time_point due) noexcept;

 private:
  const agent_spec* spec_;
  restart_type restart_;
  std::atomic<agent_run_state> state_;
  std::atomic<uint32_t> incarnation_{0};
  std::array<std::atomic<uint32_t>, restart_reason_count> restarts_{};
  std::atomic<bool> degraded_{false};
  std::atomic<std::chrono::steady_clock::rep> restart_due_{0};  // 0: no backoff restart pending
  mutable std::mutex mutex_;  // guards handle_, last_exit_reason_, started_at_
  caf::actor handle_;
  std::string last_exit_reason_;
  std::chrono::steady_clock::time_point started_at_{};
};

class agent_directory {
 public:
  // One entry per row, in start order; `enabled`/`restart` already resolved from config.
  struct row {
    const agent_spec* spec;
    restart_type restart;
    bool enabled;
  };
  explicit agent_directory(const std::vector<row>& rows);

  size_t size() const noexcept { return entries_.size(); }
  agent_entry& at(size_t index) { return *entries_[index]; }
  const agent_entry& at(size_t index) const { return *entries_[index]; }
  agent_entry* find(std::string_view name);
  const agent_entry* find(std::string_view name) const;
  // Index of `name`, or -1.
  int index_of(std::string_view name) const;

  // Handle of a running agent by name, or an invalid handle (agent down or unknown).
  caf::actor handle(std::string_view name) const;

  bool all_running() const;

 private:
  std::vector<std::unique_ptr<agent_entry>> entries_;
};

}  // namespace mercato
