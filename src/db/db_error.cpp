// libpqxx exception → db::error (see db_error.hpp).
#include "db/db_error.hpp"

#include <exception>

#include <pqxx/except>

namespace mercato::db {

std::string_view to_string(errc code) {
  switch (code) {
    case errc::conflict: return "conflict";
    case errc::invalid: return "invalid";
    case errc::retriable: return "retriable";
    case errc::unavailable: return "unavailable";
    case errc::timeout: return "timeout";
    case errc::internal: return "internal";
  }
  return "internal";
}

namespace {

errc code_for_sqlstate(std::string_view state) {
  if (state == "23505" || state == "23P01") return errc::conflict;
  if (state == "40001" || state == "40P01") return errc::retriable;
  // 57014 statement_timeout; 55P03 lock_not_available (SET LOCAL lock_timeout): both "too slow now".
  if (state == "57014" || state == "55P03") return errc::timeout;
  if (state.substr(0, 2) == "23" || state.substr(0, 2) == "22") return errc::invalid;
  // 08: connection exception; 57P01..57P03: admin shutdown, crash shutdown, cannot connect now.
  if (state.substr(0, 2) == "08" || state.substr(0, 3) == "57P") return errc::unavailable;
  return errc::internal;
}

}  // namespace

error classify_current_exception() {
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    return {errc::unavailable, e.what(), {}};
  } catch (const pqxx::in_doubt_error& e) {
    return {errc::unavailable, e.what(), {}};
  } catch (const pqxx::sql_error& e) {
    return {code_for_sqlstate(e.sqlstate()), e.what(), e.sqlstate()};
  } catch (const pqxx::statement_completion_unknown& e) {
    return {errc::unavailable, e.what(), {}};
  } catch (const pqxx::serialization_failure& e) {
    return {errc::retriable, e.what(), "40001"};
  } catch (const pqxx::deadlock_detected& e) {
    return {errc::retriable, e.what(), "40P01"};
  } catch (const std::exception& e) {
    return {errc::internal, e.what(), {}};
  } catch (...) {
    return {errc::internal, "unknown exception", {}};
  }
}

}  // namespace mercato::db
