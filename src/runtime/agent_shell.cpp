// Platform routes of every agent and the /health body (DESIGN.md §3).
#include "runtime/agent_shell.hpp"

#include <fmt/format.h>

#include "db/db_pool.hpp"
#include "http/json_text.hpp"
#include "mercato/agent_directory.hpp"
#include "runtime/clock.hpp"

namespace mercato {

agent_shell::agent_shell(const agent_context& ctx)
    : ctx_(ctx), entry_(ctx.directory ? ctx.directory->find(ctx.spec->name) : nullptr) {
  add_platform_routes();
}

void agent_shell::add_platform_routes() {
  router_.add("GET", "/health", "Liveness and state of this agent",
              [this](http::request_context& c) {
                c.respond(http_response::json(200, health_body()));
              });
  router_.add("GET", "/", "Name and version of this agent", [this](http::request_context& c) {
    std::string body = "{\"name\":";
    http::append_json_string(body, ctx_.spec->title);
    body += ",\"agent\":";
    http::append_json_string(body, ctx_.spec->name);
    body += ",\"version\":\"" MERCATO_VERSION "\",\"message\":";
    http::append_json_string(body, root_message_.empty() ? fmt::format("{} API is running", ctx_.spec->title)
                                                         : root_message_);
    body += '}';
    c.respond(http_response::json(200, std::move(body)));
  });
  router_.add("GET", "/openapi.json", "OpenAPI 3 description of this agent",
              [this](http::request_context& c) {
                // Routes are fixed once the agent started, so the document is built once.
                if (openapi_cache_.empty())
                  openapi_cache_ = router_.openapi(ctx_.spec->title, MERCATO_VERSION);
                c.respond(http_response::json(200, openapi_cache_));
              });
  router_.add("GET", "/docs", "Human-readable route list", [this](http::request_context& c) {
    http_response r;
    r.content_type = "text/html; charset=utf-8";
    r.body = http::docs_page(ctx_.spec->title, router_.routes(), "openapi.json");
    c.respond(std::move(r));
  });
}

void agent_shell::dispatch(http_request request, reply_channel reply) const {
  router_.dispatch(std::move(request), std::move(reply));
}

std::string_view agent_shell::database_state() const {
  if (!ctx_.database) return "not_configured";
  return ctx_.database->connected() ? "connected" : "disconnected";
}

std::string agent_shell::health_body() const {
  const agent_entry* entry = entry_;
  const bool degraded = entry && entry->degraded();
  const auto uptime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  std::string body;
  body.reserve(256);
  auto out = std::back_inserter(body);
  fmt::format_to(out, "{{\"status\":\"{}\",\"agent_id\":", degraded ? "degraded" : "healthy");
  http::append_json_string(body, ctx_.spec->health_id);
  body += ",\"agent\":";
  http::append_json_string(body, ctx_.spec->health_id);
  fmt::format_to(out,
                 ",\"name\":\"{}\",\"version\":\"" MERCATO_VERSION
                 "\",\"uptime_seconds\":{:.3f},\"database\":\"{}\",\"restarts\":{},"
                 "\"incarnation\":{},\"mode\":\"{}\",\"timestamp\":\"{}\"",
                 ctx_.spec->name, uptime,
                 database_state(),
                 entry ? entry->restarts_total() : 0, ctx_.incarnation,
                 degraded ? "degraded" : "normal", clock::iso8601_now());
  if (health_extras_) body += health_extras_();
  body += '}';
  return body;
}

}  // namespace mercato
