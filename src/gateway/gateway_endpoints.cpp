// Gateway endpoints (see gateway_endpoints.hpp).
#include "gateway/gateway_endpoints.hpp"

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "http/problem.hpp"
#include "mercato/agent_directory.hpp"
#include "runtime/metrics.hpp"

namespace mercato {

gateway_endpoints::gateway_endpoints(const agent_directory& directory, const http_metrics& metrics,
                                     const config& settings, std::function<bool()> started,
                                     std::function<bool()> database_ready,
                                     std::function<std::string()> extra_metrics)
    : directory_(directory),
      metrics_(metrics),
      settings_(settings),
      started_(std::move(started)),
      database_ready_(std::move(database_ready)),
      extra_metrics_(std::move(extra_metrics)) {}

bool gateway_endpoints::serves(std::string_view path) {
  return path == "/health" || path == "/ready" || path == "/live" || path == "/metrics" ||
         path == "/openapi.json" || path == "/";
}

std::optional<http_response> gateway_endpoints::handle(std::string_view method,
                                                       std::string_view path) const {
  if (!serves(path)) return std::nullopt;
  if (method != "GET" && method != "HEAD") return http::method_not_allowed({"GET", "HEAD"});
  if (path == "/health") return health();
  if (path == "/ready") return ready();
  if (path == "/live") return http_response::json(200, R"({"status":"alive"})");
  if (path == "/metrics") {
    http_response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics_.render_prometheus(directory_);
    if (extra_metrics_) r.body += extra_metrics_();
    return r;
  }
  if (path == "/openapi.json") {
    nlohmann::json paths = nlohmann::json::object();
    for (auto p : {"/health", "/ready", "/live", "/metrics"})
      paths[p]["get"] = {{"responses", {{"200", {{"description", "OK"}}}}}};
    nlohmann::json agents = nlohmann::json::array();
    for (size_t i = 0; i < directory_.size(); ++i) {
      const auto& spec = directory_.at(i).spec();
      agents.push_back({{"agent", spec.name},
                        {"openapi", "/api/" + std::string(spec.prefix) + "/openapi.json"}});
    }
    nlohmann::json doc = {{"openapi", "3.0.2"},
                          {"info", {{"title", "mercato gateway"}, {"version", MERCATO_VERSION}}},
                          {"paths", std::move(paths)},
                          {"x-agents", std::move(agents)}};
    return http_response::json(200, doc.dump());
  }
  nlohmann::json root = {{"name", "mercato"},
                         {"version", MERCATO_VERSION},
                         {"agents", directory_.size()},
                         {"docs", "/openapi.json"}};
  return http_response::json(200, root.dump());
}

http_response gateway_endpoints::health() const {
  nlohmann::json agents = nlohmann::json::array();
  size_t running = 0, failed = 0, enabled = 0;
  for (size_t i = 0; i < directory_.size(); ++i) {
    const auto& e = directory_.at(i);
    const auto state = e.state();
    if (state != agent_run_state::disabled) ++enabled;
    if (state == agent_run_state::running) ++running;
    if (state == agent_run_state::failed) ++failed;
    nlohmann::json port = nullptr;
    if (settings_.gateway.legacy_ports && settings_.gateway.legacy_port_base != 0)
      port = settings_.gateway.legacy_port_base + e.spec().port_offset;
    nlohmann::json restart_in_ms = nullptr;  // a backoff restart the supervisor has scheduled
    if (const auto left = e.restart_in()) restart_in_ms = left->count();
    agents.push_back({{"agent", e.name()},
                      {"state", to_string(state)},
                      {"port", port},
                      {"prefix", "/api/" + std::string(e.spec().prefix)},
                      {"incarnation", e.incarnation()},
                      {"restarts", e.restarts_total()},
                      {"restart_in_ms", std::move(restart_in_ms)},
                      {"mode", e.degraded() ? "degraded" : "normal"}});
  }
  const char* status = running == enabled ? "healthy" : (failed > 0 ? "unhealthy" : "degraded");
  nlohmann::json body = {
      {"status", status},
      {"service", "mercato"},
      {"version", MERCATO_VERSION},
      {"uptime_seconds",
       std::chrono::duration<double>(std::chrono::steady_clock::now() - since_).count()},
      {"agents_total", enabled},
      {"agents_running", running},
      {"agents", std::move(agents)}};
  return http_response::json(200, body.dump());
}

http_response gateway_endpoints::ready() const {
  const bool started = started_ && started_();
  size_t failed = 0;
  for (size_t i = 0; i < directory_.size(); ++i)
    if (directory_.at(i).state() == agent_run_state::failed) ++failed;
  const char* database = "not_configured";
  bool database_ok = true;
  if (database_ready_) {
    database_ok = database_ready_();
    database = database_ok ? "connected" : "disconnected";
  }
  const bool ok = started && failed == 0 && database_ok;
  nlohmann::json body = {{"ready", ok},
                         {"started", started},
                         {"database", database},
                         {"failed_agents", failed}};
  auto r = http_response::json(ok ? 200 : 503, body.dump());
  if (!ok) r.headers.emplace_back("Retry-After", std::to_string(settings_.gateway.retry_after_seconds));
  return r;
}

}  // namespace mercato
