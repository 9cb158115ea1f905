// The HTTP tests' server fixture and polling helpers (see server_fixture.hpp).
#include "server_fixture.hpp"

#include <atomic>
#include <stdexcept>

#include <unistd.h>

#include "console/console_client.hpp"
#include "mercato/agent_directory.hpp"

namespace mercato::test {
namespace {

config test_config() {
  static std::atomic<int> servers{0};
  config c;
  c.gateway.port = 0;
  c.gateway.legacy_ports = true;
  c.gateway.legacy_port_base = 0;
  c.admin.socket_path = "/tmp/mercato-http-tests-" + std::to_string(::getpid()) + "-" +
                        std::to_string(servers++) + ".sock";
  c.admin.fault_injection = true;
  c.log.level = "warn";
  c.log.format = "text";
  c.source = "<http tests>";
  return c;
}

}  // namespace

test_server::test_server(const std::function<void(config&)>& adjust) {
  config c = test_config();
  if (adjust) adjust(c);
  app_ = std::make_unique<server_app>(std::move(c));
  app_->start();
  waiter_ = std::thread([app = app_.get()] { app->wait(); });
}

test_server::~test_server() {
  app_->request_shutdown();
  waiter_.join();
}

uint16_t test_server::legacy_port(std::string_view agent) const {
  const int index = app_->directory().index_of(agent);
  if (index < 0) throw std::invalid_argument("no agent named '" + std::string(agent) + "'");
  const uint16_t port = app_->legacy_port(static_cast<size_t>(index));
  if (port == 0) throw std::logic_error("legacy ports are off in this test's config");
  return port;
}

http_result test_server::get(std::string_view agent, const std::string& target) const {
  return request(legacy_port(agent), "GET", target);
}

http_result test_server::get_gateway(const std::string& target) const {
  return request(gateway_port(), "GET", target);
}

nlohmann::json test_server::admin(const std::string& command) const {
  const std::string line = send_admin_command(app_->settings().admin.socket_path, command);
  auto reply = nlohmann::json::parse(line, nullptr, false);
  if (reply.is_discarded() || !reply.is_object() || reply.value("ok", false) != true)
    throw std::runtime_error("admin command '" + command + "' failed: " + line);
  return reply;
}

nlohmann::json json_body(const http_result& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded())
    throw std::runtime_error("response " + std::to_string(r.status) + " is not JSON: " + r.body);
  return j;
}

}  // namespace mercato::test
