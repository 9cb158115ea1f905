// The HTTP tests' fixture: a real mercato server (26 agents, gateway, admin socket) started
// in-process on ephemeral ports, plus the helpers every HTTP test uses to drive and poll it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

#include "app/server_app.hpp"
#include "config/config.hpp"
#include "support/db_fixture.hpp"  // eventually()
#include "support/http_client.hpp"

namespace mercato::test {

// Runs a server for the lifetime of the object; `adjust` edits the test config before start:
// gateway.port=0, legacy ports on (each ephemeral), log level warn, fault injection on and an
// admin socket path of its own.
class test_server {
 public:
  explicit test_server(const std::function<void(config&)>& adjust = {});
  ~test_server();
  test_server(const test_server&) = delete;
  test_server& operator=(const test_server&) = delete;

  const config& settings() const { return app_->settings(); }
  uint16_t gateway_port() const { return app_->gateway_port(); }
  // Bound legacy port of the agent named `agent` (registry name, e.g. "order").
  uint16_t legacy_port(std::string_view agent) const;

  // GET `target` on the legacy port of `agent`.
  http_result get(std::string_view agent, const std::string& target) const;
  // GET `target` on the gateway port.
  http_result get_gateway(const std::string& target) const;

  // Runs one admin console command; throws std::runtime_error unless the server answered ok.
  // Returns the reply ({"ok":true,"command":...,"result":...}).
  nlohmann::json admin(const std::string& command) const;

 private:
  std::unique_ptr<server_app> app_;
  std::thread waiter_;
};

// Parses a response body as JSON; throws std::runtime_error quoting the body when it is not.
nlohmann::json json_body(const http_result& r);


}  // namespace mercato::test
