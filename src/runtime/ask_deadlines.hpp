// Deadlines of the asks between agents (agent_call.hpp), kept off CAF's clock.
//
// A CAF request with a timeout costs two events on CAF 0.17's clock thread: the timeout is pushed
// when the request leaves and a cancellation when its answer arrives, each an allocation, a lock
// and a wake-up of that thread. An order makes seven asks, so under the orders bench the clock
// thread was switched in ≈ 8 times per order and took 7 % of the server's CPU. Asks go out
// without a CAF timeout instead, and their deadlines wait here: arming one is a lock and a push
// onto a queue per timeout length (deadlines of one length expire in the order they were armed),
// with no wake-up; one thread looks every `tick` for the deadlines that passed.
//
// An ask is settled exactly once (ask_deadline::settle): by its answer, inside the asking actor,
// or by its deadline, on the deadline thread, which then sends the failure to the asking actor
// as a continuation. The table holds an ask only weakly: an answered ask is freed by its actor
// at once, and its entry is skipped when its time comes (arm_held keeps it instead).
//
// An ask whose receiver stops while holding it (a crash, a hang the supervisor ended) cannot be
// answered; CAF 0.17 tells the asker nothing then. The agent directory calls recheck_receivers()
// whenever an agent leaves the running state, and at its next tick the deadline thread fails
// every waiting ask that names that receiver, at once instead of at its deadline: as an Erlang
// call to a process that dies exits at the 'DOWN', not at the call's timeout.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>

namespace mercato {

class ask_deadline : public std::enable_shared_from_this<ask_deadline> {
 public:
  virtual ~ask_deadline() = default;
  // True for the first caller only: the answer or the deadline, whichever comes first.
  bool settle() noexcept { return !settled_.exchange(true, std::memory_order_acq_rel); }
  // On the deadline thread, after this thread settled the ask: tell the asking actor.
  virtual void expire() = 0;
  // Whether the receiver stopped while holding the ask (so no answer can come); asked on the
  // deadline thread after recheck_receivers().
  virtual bool receiver_stopped() const { return false; }
  // On the deadline thread, after this thread settled an ask whose receiver stopped.
  virtual void abandon() { expire(); }

 private:
  std::atomic<bool> settled_{false};
};

namespace ask_deadlines {

// How often the deadline thread looks: a deadline fires up to this much late.
inline constexpr std::chrono::milliseconds tick{10};

// Arms `ask` to expire `timeout` from now unless settled by then. Starts the deadline thread on
// first use; thread-safe. The table holds `ask` weakly: freed earlier, it is skipped.
void arm(std::chrono::milliseconds timeout, std::weak_ptr<ask_deadline> ask);
// The same, holding `ask` until its deadline: it expires even if nobody else keeps it.
void arm_held(std::chrono::milliseconds timeout, std::shared_ptr<ask_deadline> ask);

// An agent stopped: at its next tick the deadline thread abandons every waiting ask whose
// receiver_stopped(). Cheap and thread-safe (a flag); the scan runs on the deadline thread.
void recheck_receivers();

// Deadlines armed and not yet due (answered asks included until their time comes), for tests.
size_t waiting();

}  // namespace ask_deadlines
}  // namespace mercato
