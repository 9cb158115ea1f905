// Small reply types shared by several agents' typed interfaces (agents/README §4), and the
// macro that lets plain structs travel as in-process messages. Domain messages never leave the
// process (no remote actors), so they need no serialization: CAF only has to know they are
// allowed. Every agent's `<agent>_messages.hpp` lists its own messages with MERCATO_MESSAGE.
#pragma once

#include <cstdint>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>

#define MERCATO_MESSAGE(type) CAF_ALLOW_UNSAFE_MESSAGE_TYPE(type)

namespace mercato {

// A number answer (count_recent_orders, count_method_changes, …).
struct count_reply {
  int64_t count = 0;
};

// Platform messages of agents with an outbox / idempotency store (agents/README §2).
struct outbox_stats {};
struct outbox_stats_reply {
  int64_t pending = 0;
  double oldest_age_seconds = 0;
  int64_t failed = 0;
};
struct prune_idempotency_keys {
  int64_t older_than_seconds = 24 * 3600;
};

}  // namespace mercato

MERCATO_MESSAGE(mercato::count_reply)
MERCATO_MESSAGE(mercato::outbox_stats)
MERCATO_MESSAGE(mercato::outbox_stats_reply)
MERCATO_MESSAGE(mercato::prune_idempotency_keys)
