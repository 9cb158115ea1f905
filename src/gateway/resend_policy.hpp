// Requests the gateway sends once more, to the next incarnation, when their agent stopped while
// holding them (a crash, a hang the supervisor ended). Only requests their agent de-duplicates by
// Idempotency-Key qualify: the second send carries the same key, so the new incarnation either
// replays what the first one committed or does the work once. One without a key gets a minted one
// (`mercato-resend-<uuid>`): legacy clients send none, and without it a crash between the commit
// and the answer would answer 503 for an order that exists, which such a client would place again.
#pragma once

#include <string_view>

namespace mercato::resend_policy {

inline constexpr std::string_view minted_key_prefix = "mercato-resend-";

// Whether `method` `agent_path` (the agent's own path, prefix removed) on `agent` qualifies.
bool applies(std::string_view agent, std::string_view method, std::string_view agent_path);

}  // namespace mercato::resend_policy
