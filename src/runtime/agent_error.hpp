// Typed errors between agents. A handler that refuses a request answers a caf::error built by
// make_failure(kind, code, message); the caller reads it back with read_failure(), which also turns
// CAF's own errors (request timeout, receiver down) into `unavailable`. The HTTP layer answers a
// failure with failure_response(): the status mapping of the message catalogue (agents/README §2).
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>

#include "mercato/http_message.hpp"

namespace mercato {

namespace db {
struct error;
}

enum class failure_kind : uint8_t {
  not_found = 1,  // 404 (or 422 when the caller named the entity in a body)
  invalid,        // 422
  conflict,       // 409: conflict, illegal_transition, not_cancellable, too_late, insufficient_stock …
  unavailable,    // 503 + Retry-After: receiver down, timed out, database unavailable
  upstream,       // 502: an external party (PSP, carrier) failed
  internal,       // 500: a bug; logged by whoever built it
};

struct failure {
  failure_kind kind = failure_kind::internal;
  std::string code;     // the domain code, e.g. "insufficient_stock", "declined"
  std::string message;  // human text; becomes the HTTP `detail`
  std::string detail;   // optional JSON text with structured data (e.g. {"product_id":…})
};

// The error a handler returns (or delivers through a response promise).
caf::error make_failure(failure_kind kind, std::string code, std::string message,
                        std::string detail = {});
caf::error make_failure(const failure& f);
// Reads any caf::error back; CAF's own errors (timeout, down, unexpected message) → unavailable.
failure read_failure(const caf::error& e);
// A database outcome error as a failure: conflict → conflict, invalid → invalid, else unavailable
// (internal stays internal). A conflict or invalid carries the server's primary message only,
// never its DETAIL or CONTEXT (row contents, statement parameters).
failure db_failure(const db::error& e);

const char* to_string(failure_kind kind) noexcept;
int http_status(failure_kind kind) noexcept;
// {"detail": message} with the mapped status (503 carries Retry-After: 5).
http_response failure_response(const failure& f);

}  // namespace mercato
