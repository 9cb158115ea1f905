// Domain events into an agent's mailbox: subscribes `patterns` on the bus with a callback that
// sends each event to the actor (the bus calls back on the publisher's thread, so the agent never
// handles an event outside its own mailbox), and unsubscribes when the incarnation exits, so a
// restarted agent is never subscribed twice. The agent's interface must react to `event`.
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

}  // namespace mercato
