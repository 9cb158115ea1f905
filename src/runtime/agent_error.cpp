#include "runtime/agent_error.hpp"

#include <caf/atom.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

#include "db/db_error.hpp"
#include "http/problem.hpp"

namespace mercato {
namespace {

constexpr caf::atom_value failure_category = caf::atom("mercato");

// What a client may read of a refused statement: the server's primary message ("duplicate key
// value violates unique constraint …", "invalid input syntax for type uuid: …") without the
// "ERROR:" prefix, the DETAIL (for a CHECK it is the whole failing row, columns the client never
// sent included) or the CONTEXT (the statement's parameters).
std::string client_message(const std::string& server_message) {
  std::string_view m = server_message;
  if (m.substr(0, 6) == "ERROR:") m.remove_prefix(6);
  while (!m.empty() && (m.front() == ' ' || m.front() == '\t')) m.remove_prefix(1);
  m = m.substr(0, m.find('\n'));
  return m.empty() ? std::string("The database refused the request") : std::string(m);
}

}  // namespace

caf::error make_failure(failure_kind kind, std::string code, std::string message,
                        std::string detail) {
  return caf::error{static_cast<uint8_t>(kind), failure_category,
                    caf::make_message(std::move(code), std::move(message), std::move(detail))};
}

caf::error make_failure(const failure& f) { return make_failure(f.kind, f.code, f.message, f.detail); }

failure read_failure(const caf::error& e) {
  failure out;
  if (e.category() == failure_category) {
    out.kind = static_cast<failure_kind>(e.code());
    const auto& ctx = e.context();
    if (ctx.match_elements<std::string, std::string, std::string>()) {
      out.code = ctx.get_as<std::string>(0);
      out.message = ctx.get_as<std::string>(1);
      out.detail = ctx.get_as<std::string>(2);
    }
    return out;
  }
  out.kind = failure_kind::unavailable;
  const bool system = e.category() == caf::atom("system");
  if (system && static_cast<caf::sec>(e.code()) == caf::sec::request_timeout) {
    out.code = "timeout";
    out.message = "The agent did not answer in time";
  } else if (system && static_cast<caf::sec>(e.code()) == caf::sec::request_receiver_down) {
    // CAF bounces what a dead actor held or still had queued: the same event as the ask table's
    // on_receiver_stopped, so the same code, which tells resending callers to wait for a restart.
    out.code = "agent_stopped";
    out.message = "The agent stopped before answering";
  } else {
    out.code = "dependency_unavailable";
    out.message = "The agent is not available";
  }
  return out;
}

failure db_failure(const db::error& e) {
  switch (e.code) {
    case db::errc::conflict:
      return {failure_kind::conflict, "conflict", client_message(e.message), {}};
    case db::errc::invalid:
      return {failure_kind::invalid, "invalid", client_message(e.message), {}};
    case db::errc::internal:
      return {failure_kind::internal, "internal", "Internal error", {}};
    default:
      return {failure_kind::unavailable, "database_unavailable", "Database unavailable", {}};
  }
}

const char* to_string(failure_kind kind) noexcept {
  switch (kind) {
    case failure_kind::not_found: return "not_found";
    case failure_kind::invalid: return "invalid";
    case failure_kind::conflict: return "conflict";
    case failure_kind::unavailable: return "unavailable";
    case failure_kind::upstream: return "upstream";
    case failure_kind::internal: return "internal";
  }
  return "internal";
}

int http_status(failure_kind kind) noexcept {
  switch (kind) {
    case failure_kind::not_found: return 404;
    case failure_kind::invalid: return 422;
    case failure_kind::conflict: return 409;
    case failure_kind::unavailable: return 503;
    case failure_kind::upstream: return 502;
    case failure_kind::internal: return 500;
  }
  return 500;
}

http_response failure_response(const failure& f) {
  if (f.kind == failure_kind::unavailable) return http::unavailable(f.message, 5);
  return http::error(http_status(f.kind), f.message.empty() ? f.code : f.message);
}

}  // namespace mercato
