// Requests the gateway sends once more, to the next incarnation, when their agent stopped while
// holding them (a crash, a hang the supervisor ended):
//   * GET and HEAD to any agent: safe methods (RFC 9110 §9.2.1) that mercato's agents only read
//     with, so a second send changes nothing (README, "Calls held by a stopped agent"; http_tests
//     "every GET of the six agents answers from a read-only database" fails on a GET that writes);
//   * requests their agent de-duplicates by Idempotency-Key: the second send carries the same
//     key, so the new incarnation either replays what the first one committed or does the work
//     once. One without a key gets a minted one (`mercato-resend-<uuid>`): legacy clients send
//     none, and without it a crash between the commit and the answer would answer 503 for an
//     order that exists, which such a client would place again.
#pragma once

#include <string_view>

namespace mercato::resend_policy {

inline constexpr std::string_view minted_key_prefix = "mercato-resend-";

enum class resend {
  never,     // answered 503 when its agent stops holding it
  as_sent,   // a safe method: the same request again
  with_key,  // the same request under its Idempotency-Key, minted when it came without one
};

// How `method` `agent_path` (the agent's own path, prefix removed) on `agent` is resent.
resend classify(std::string_view agent, std::string_view method, std::string_view agent_path);

}  // namespace mercato::resend_policy
