// Asking another agent from inside an agent: look the receiver up by registry name in the live
// directory, send a typed request with a timeout, and continue with either its typed reply or a
// `failure` (agent_error.hpp). A receiver that is down (restarting, stopped) fails at once with
// `unavailable`, asynchronously like every other outcome, so callers have one code path.
//
//   ask_agent<inventory_actor>(self, ctx, "inventory", reserve_stock{...},
//       [=](reservation_set& r) { ... },
//       [=](const failure& f) { ... });
//
// The timeout is not CAF's (a request timeout costs two events on CAF's clock thread, see
// ask_deadlines.hpp): the request goes out without one and its deadline waits in ask_deadlines.
// Whichever comes first, the answer or the deadline, settles the ask; the other is dropped. A
// deadline that fires answers `unavailable` / "timeout", as CAF's request timeout did. A receiver
// that stops while holding the ask (crash, hang ended) answers `unavailable` / "agent_stopped"
// within a tick of the supervisor noticing, not at the deadline (ask_deadlines::recheck_receivers).
//
// ask_agent_resending is the same ask for a message its receiver may simply handle twice (a read):
// when the receiver stops before answering, or is restarting when the ask goes out, the message
// goes once more to the next incarnation as soon as the supervisor has started it, within the same
// timeout, as the gateway resends to an agent that stopped holding a call. An agent's crash then
// costs a read's caller a few milliseconds instead of a refusal.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>
#include <caf/detail/type_traits.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include "mercato/agent_actor.hpp"
#include "mercato/agent_context.hpp"
#include "mercato/agent_directory.hpp"
#include "runtime/agent_error.hpp"
#include "runtime/ask_deadlines.hpp"

namespace mercato {
namespace detail {

// A deadline whose expiry runs on_deadline() inside the actor that armed it (as a continuation),
// and an abandoned ask on_receiver_stopped(); nothing when that incarnation is gone.
class actor_deadline : public ask_deadline {
 public:
  explicit actor_deadline(caf::actor_addr owner) : owner_(std::move(owner)) {}
  void expire() final { in_owner(&actor_deadline::on_deadline); }
  void abandon() final { in_owner(&actor_deadline::on_receiver_stopped); }

 protected:
  virtual void on_deadline() = 0;
  virtual void on_receiver_stopped() { on_deadline(); }

 private:
  void in_owner(void (actor_deadline::*fn)()) {
    caf::actor owner = caf::actor_cast<caf::actor>(owner_);
    if (!owner) return;
    auto self = std::static_pointer_cast<actor_deadline>(shared_from_this());
    caf::anon_send(owner, continuation{[self, fn]() { ((*self).*fn)(); }});
  }

  caf::actor_addr owner_;
};

// One ask in flight and its two continuations, touched inside the asking actor (the deadline
// thread only settles it and expires or abandons it). `receiver` is the agent's directory row
// and `sent_to` the incarnation the request went to: once the row serves another (or none), the
// receiver stopped holding the ask.
template <class OnReply, class OnFailure>
class pending_ask final : public actor_deadline {
 public:
  pending_ask(caf::actor_addr asker, OnReply on_reply, OnFailure on_failure, const agent_entry* receiver = nullptr,
              caf::actor_addr sent_to = {})
      : actor_deadline(std::move(asker)),
        on_reply_(std::move(on_reply)),
        on_failure_(std::move(on_failure)),
        receiver_(receiver),
        sent_to_(std::move(sent_to)) {}

  bool receiver_stopped() const override { return receiver_ && receiver_->handle().address() != sent_to_; }

  template <class... Ts>
  void reply(Ts&&... xs) {
    if (!settle()) return;  // the deadline or an error came first
    auto f = std::move(*on_reply_);
    release();
    f(std::forward<Ts>(xs)...);
  }
  void fail_if_unsettled(const caf::error& e) {
    if (settle()) fail(read_failure(e));
  }

 private:
  void on_deadline() override { fail({failure_kind::unavailable, "timeout", "The agent did not answer in time", {}}); }
  // Kind unavailable, as a timeout: the work may or may not have been done, so callers retry
  // with the same keys exactly as after a timeout.
  void on_receiver_stopped() override {
    fail({failure_kind::unavailable, "agent_stopped",
          fmt::format("The {} agent stopped before answering", receiver_->name()), {}});
  }
  void fail(const failure& why) {
    auto f = std::move(*on_failure_);
    release();
    f(why);
  }
  // An answer that never comes (a receiver killed while it held the request) keeps CAF's handler,
  // and with it this object, until the asker ends: keep that small.
  void release() {
    on_reply_.reset();
    on_failure_.reset();
  }

  std::optional<OnReply> on_reply_;
  std::optional<OnFailure> on_failure_;
  const agent_entry* receiver_;
  caf::actor_addr sent_to_;
};

// The reply handler CAF checks against the receiver's typed reply: the signature of `OnReply`
// (arguments `Ts`), forwarding to the pending ask.
template <class Pending, class Args>
struct settling_reply;
template <class Pending, class... Ts>
struct settling_reply<Pending, caf::detail::type_list<Ts...>> {
  std::shared_ptr<Pending> ask;
  void operator()(Ts... xs) const { ask->reply(std::forward<Ts>(xs)...); }
};

// once_or_after's state: `fn` until it ran.
class one_shot final : public actor_deadline {
 public:
  one_shot(caf::actor_addr owner, std::function<void()> fn) : actor_deadline(std::move(owner)), fn_(std::move(fn)) {}
  void trigger() {
    if (settle()) run();
  }

 private:
  void on_deadline() override { run(); }
  void run() {
    auto f = std::move(fn_);
    fn_ = nullptr;
    f();
  }
  std::function<void()> fn_;
};

}  // namespace detail

// `fn` runs once inside the calling actor: when the returned trigger is first called (inside that
// actor), or `timeout` from now, whichever comes first; a trigger dropped unrun still runs it at
// the deadline. Unlike a delayed_send it puts no event on CAF's clock, and a trigger that ran
// frees `fn` at once (the deadline keeps only a small settled object until it is due).
template <class Self>
std::function<void()> once_or_after(Self* self, std::chrono::milliseconds timeout, std::function<void()> fn) {
  auto shot = std::make_shared<detail::one_shot>(caf::actor_cast<caf::actor_addr>(self), std::move(fn));
  ask_deadlines::arm_held(timeout, shot);
  return [shot] { shot->trigger(); };
}

template <class Handle, class Self, class Message, class OnReply, class OnFailure>
void ask_agent(Self* self, const agent_context& ctx, std::string_view agent, Message message,
               OnReply on_reply, OnFailure on_failure,
               std::chrono::milliseconds timeout = std::chrono::milliseconds{0}) {
  if (timeout.count() == 0) timeout = ctx.call_timeout;
  const agent_entry* receiver = ctx.directory ? ctx.directory->find(agent) : nullptr;
  caf::actor raw = receiver ? receiver->handle() : caf::actor{};
  if (!raw) {
    failure f{failure_kind::unavailable, "dependency_unavailable",
              fmt::format("The {} agent is not available", agent), {}};
    caf::anon_send(caf::actor_cast<caf::actor>(self),
                   continuation{[on_failure = std::move(on_failure), f]() mutable { on_failure(f); }});
    return;
  }
  using pending = detail::pending_ask<OnReply, OnFailure>;
  using args = typename caf::detail::get_callable_trait<OnReply>::arg_types;
  auto ask = std::make_shared<pending>(caf::actor_cast<caf::actor_addr>(self), std::move(on_reply),
                                       std::move(on_failure), receiver, raw.address());
  ask_deadlines::arm(timeout, ask);
  self->request(caf::actor_cast<Handle>(raw), caf::infinite, std::move(message))
      .then(detail::settling_reply<pending, args>{ask}, [ask](caf::error& e) { ask->fail_if_unsettled(e); });
}

namespace detail {

// How often a resend looks whether the receiver's next incarnation runs.
inline constexpr std::chrono::milliseconds restart_poll{10};

// Whether an ask failed because its receiver stopped or was down (a crash, a hang ended, a
// restart under way), rather than refusing the message or answering too slowly.
inline bool receiver_went_down(const failure& f) {
  return f.kind == failure_kind::unavailable && (f.code == "agent_stopped" || f.code == "dependency_unavailable");
}

// Waits, every restart_poll until `until`, for an incarnation of `agent` other than `sent` to run
// and asks it; `why` (the first ask's failure) when none comes, or the agent is stopped or failed
// for good rather than restarting.
template <class Handle, class Self, class Message, class OnReply, class OnFailure>
void resend_when_restarted(Self* self, agent_context ctx, std::string agent, Message message, OnReply on_reply,
                           OnFailure on_failure, uint32_t sent, std::chrono::steady_clock::time_point until,
                           failure why) {
  const agent_entry* receiver = ctx.directory->find(agent);
  const auto state = receiver->state();
  const auto now = std::chrono::steady_clock::now();
  if (state == agent_run_state::running && receiver->incarnation() != sent) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now);
    if (left.count() > 0)
      return ask_agent<Handle>(self, ctx, agent, std::move(message), std::move(on_reply), std::move(on_failure), left);
    return on_failure(why);
  }
  // Still `running` as `sent` after an agent_stopped: the supervisor has not yet seen the exit of
  // the incarnation that bounced the message. Any other failure from a running incarnation is its
  // own answer, not a stop, and polling would only hold it back until `until`.
  const bool coming_back = state == agent_run_state::restarting || state == agent_run_state::starting ||
                           (state == agent_run_state::running && why.code == "agent_stopped");
  if (!coming_back || now + restart_poll >= until) return on_failure(why);
  // A backoff restart due after `until` would only hold the failure back until then.
  if (const auto due = receiver->restart_due(); due && *due > until) return on_failure(why);
  // The returned trigger is dropped on purpose: the look runs once restart_poll has passed.
  once_or_after(self, restart_poll,
                [self, ctx, agent = std::move(agent), message = std::move(message), on_reply = std::move(on_reply),
                 on_failure = std::move(on_failure), sent, until, why = std::move(why)]() mutable {
                  resend_when_restarted<Handle>(self, ctx, std::move(agent), std::move(message), std::move(on_reply),
                                                std::move(on_failure), sent, until, std::move(why));
                });
}

}  // namespace detail

// ask_agent, sent once more to the receiver's next incarnation should this one stop before
// answering (see the top of this file). Only for messages whose second handling changes nothing.
template <class Handle, class Self, class Message, class OnReply, class OnFailure>
void ask_agent_resending(Self* self, const agent_context& ctx, std::string_view agent, Message message,
                         OnReply on_reply, OnFailure on_failure,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds{0}) {
  if (timeout.count() == 0) timeout = ctx.call_timeout;
  const agent_entry* receiver = ctx.directory ? ctx.directory->find(agent) : nullptr;
  if (!receiver)
    return ask_agent<Handle>(self, ctx, agent, std::move(message), std::move(on_reply), std::move(on_failure), timeout);
  // The incarnation is read before ask_agent reads the handle: a restart in between is then seen.
  const uint32_t sent = receiver->incarnation();
  const auto until = std::chrono::steady_clock::now() + timeout;
  auto resend = [self, ctx, agent = std::string(agent), message, on_reply, on_failure, sent,
                 until](const failure& f) mutable {
    if (!detail::receiver_went_down(f)) return on_failure(f);
    detail::resend_when_restarted<Handle>(self, ctx, std::move(agent), std::move(message), std::move(on_reply),
                                          std::move(on_failure), sent, until, f);
  };
  ask_agent<Handle>(self, ctx, agent, std::move(message), std::move(on_reply), std::move(resend), timeout);
}

}  // namespace mercato
