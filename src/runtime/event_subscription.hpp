// Domain events into an agent's mailbox: subscribes `patterns` on the bus with a callback that
// sends each event to the actor (the bus calls back on the publisher's thread, so the agent never
// handles an event outside its own mailbox), and unsubscribes when the incarnation exits, so a
// restarted agent is never subscribed twice. The agent's interface must react to `event`.
//
// subscribe_events: best effort, for state an agent rebuilds anyway (caches, registers).
// consume_events: the agent's durable consumer (event_bus::declare_consumer): nothing is missed
// across restarts, and the agent must call acknowledge_event() once it is done with each event.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "mercato/agent_actor.hpp"
#include "mercato/agent_context.hpp"
#include "mercato/event.hpp"

namespace mercato {

template <class Self>
void subscribe_events(Self* self, const agent_context& ctx, std::initializer_list<const char*> patterns) {
  if (!ctx.events) return;
  event_bus* bus = ctx.events;
  caf::actor me = caf::actor_cast<caf::actor>(self);
  std::vector<event_bus::subscription_id> ids;
  for (const char* p : patterns)
    ids.push_back(bus->subscribe(p, [me](const event& e) { caf::anon_send(me, e); }));
  self->attach_functor([bus, ids] {
    for (auto id : ids) bus->unsubscribe(id);
  });
}

// The consumer is named after the agent (ctx.spec->name).
template <class Self>
void consume_events(Self* self, const agent_context& ctx, std::initializer_list<const char*> patterns) {
  if (!ctx.events) return;
  event_bus* bus = ctx.events;
  const std::string consumer{ctx.spec->name};
  bus->declare_consumer(consumer, std::vector<std::string>(patterns.begin(), patterns.end()));
  caf::actor me = caf::actor_cast<caf::actor>(self);
  const uint64_t token = bus->attach(consumer, [me](const event& e) { caf::anon_send(me, e); });
  self->attach_functor([bus, consumer, token] { bus->detach(consumer, token); });
}

inline void acknowledge_event(const agent_context& ctx, const std::string& event_id) {
  if (ctx.events) ctx.events->ack(std::string{ctx.spec->name}, event_id);
}

}  // namespace mercato
