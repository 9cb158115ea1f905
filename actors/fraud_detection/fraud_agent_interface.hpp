// The fraud_detection actor's full typed interface: the public fraud_actor plus its private
// block-expiry timer. Kept apart from fraud_agent_state.hpp so that a TU can name the actor
// without runtime/agent_behavior.hpp (whose `agent_state` struct collides with the enum of the
// same name in mercato/agent_directory.hpp, which runtime/agent_call.hpp needs).
#pragma once

#include <caf/all.hpp>

#include "fraud_detection/fraud_messages.hpp"

namespace mercato::fraud {

using expire_atom = caf::atom_constant<caf::atom("fexpire")>;

using fraud_agent_actor = fraud_actor::extend<caf::reacts_to<expire_atom>>;

}  // namespace mercato::fraud
