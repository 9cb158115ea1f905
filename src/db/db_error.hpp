// Typed database errors: what a unit of work can fail with, mapped from libpqxx exceptions and
// SQLSTATEs so callers branch on a code (conflict → 409, invalid → 422, ...) and never crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mercato::db {

enum class errc : uint8_t {
  conflict,     // unique violation (23505), exclusion violation (23P01)
  invalid,      // check / not-null / foreign-key violation, bad data (22xxx)
  retriable,    // serialization failure (40001), deadlock (40P01): safe to run again
  unavailable,  // no connection, connection lost (outcome unknown for writes), pool saturated
  timeout,      // statement_timeout (57014), lock_timeout (55P03)
  internal,     // anything else: a bug in SQL or code
};

std::string_view to_string(errc code);

struct error {
  errc code = errc::internal;
  std::string message;
  std::string sqlstate;  // empty when not from the server
};

// Maps the exception being handled (call only inside a catch block).
error classify_current_exception();

}  // namespace mercato::db
