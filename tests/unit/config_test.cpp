// Unit tests of the configuration module: TOML parsing, defaults, validation messages,
// environment overrides, the shipped config/mercato.toml and render_config's round trip.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>

#include "config/config.hpp"

using namespace mercato;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

// The environment the tests pretend to have; tests reset it before use.
std::map<std::string, std::string> fake_environment;

const char* fake_getenv(const char* name) {
  const auto it = fake_environment.find(name);
  return it == fake_environment.end() ? nullptr : it->second.c_str();
}

// Keeps the real process environment (e.g. a CI's MERCATO_* variables) out of the tests.
const char* no_environment(const char*) {
  return nullptr;
}

config parse(const std::string& text) {
  return parse_config(text, "config/mercato.toml", no_environment);
}

// The config_error message parsing `text` produces; "" if it parses.
std::string error_of(const std::string& text, env_lookup getenv_fn = no_environment) {
  try {
    parse_config(text, "config/mercato.toml", getenv_fn);
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

std::string source_dir() {
  const std::string this_file = __FILE__;
  return this_file.substr(0, this_file.size() - std::string("tests/unit/config_test.cpp").size());
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Renders without the header comment, which names the source file.
std::string rendered_values(config c) {
  c.source = "";
  return render_config(c);
}

// Every key set to something other than its default.
const std::string full_text = R"(
[gateway]
bind_address = "0.0.0.0"
port = 9090
legacy_ports = false
legacy_port_base = 7000
max_body_bytes = 2048
max_header_bytes = 4096
request_timeout_ms = 1500
read_timeout_ms = 2500
keep_alive_idle_timeout_ms = 3500
max_connections = 42
max_in_flight_per_agent = 7
drain_timeout_ms = 4500
cors_allowed_origins = ["https://shop.example", "https://admin.example"]
retry_after_seconds = 3

[agents.order]
enabled = false
restart = "temporary"
request_timeout_ms = 250

[agents.payment]
restart = "transient"

[supervisor]
restart_intensity = 3
restart_period_ms = 20000
total_restart_intensity = 30
total_restart_period_ms = 60000
backoff_min_ms = 50
backoff_max_ms = 800
backoff_jitter = 0.5
heartbeat_interval_ms = 300
heartbeat_deadline_ms = 600
shutdown_timeout_ms = 900

[admin]
socket_path = "/run/mercato/admin.sock"
fault_injection = true

[log]
level = "debug"
format = "text"

[runtime]
worker_threads = 8
io_threads = 3
)";

void check_full_values(const config& c) {
  const gateway_config& g = c.gateway;
  CHECK(g.bind_address == "0.0.0.0");
  CHECK(g.port == 9090);
  CHECK_FALSE(g.legacy_ports);
  CHECK(g.legacy_port_base == 7000);
  CHECK(g.max_body_bytes == 2048);
  CHECK(g.max_header_bytes == 4096);
  CHECK(g.request_timeout == 1500ms);
  CHECK(g.read_timeout == 2500ms);
  CHECK(g.keep_alive_idle_timeout == 3500ms);
  CHECK(g.max_connections == 42);
  CHECK(g.max_in_flight_per_agent == 7);
  CHECK(g.drain_timeout == 4500ms);
  CHECK(g.cors_allowed_origins ==
        std::vector<std::string>{"https://shop.example", "https://admin.example"});
  CHECK(g.retry_after_seconds == 3);

  REQUIRE(c.agents.overrides.size() == 2);
  const agent_override& order = c.agents.overrides.at("order");
  CHECK_FALSE(order.enabled);
  CHECK(order.restart == restart_type::temporary);
  CHECK(order.request_timeout == 250ms);
  const agent_override& payment = c.agents.overrides.at("payment");
  CHECK(payment.enabled);
  CHECK(payment.restart == restart_type::transient);
  CHECK_FALSE(payment.request_timeout.has_value());

  const supervisor_config& s = c.supervisor;
  CHECK(s.restart_intensity == 3);
  CHECK(s.restart_period == 20000ms);
  CHECK(s.total_restart_intensity == 30);
  CHECK(s.total_restart_period == 60000ms);
  CHECK(s.backoff_min == 50ms);
  CHECK(s.backoff_max == 800ms);
  CHECK(s.backoff_jitter == 0.5);
  CHECK(s.heartbeat_interval == 300ms);
  CHECK(s.heartbeat_deadline == 600ms);
  CHECK(s.shutdown_timeout == 900ms);

  CHECK(c.admin.socket_path == "/run/mercato/admin.sock");
  CHECK(c.admin.fault_injection);
  CHECK(c.log.level == "debug");
  CHECK(c.log.format == "text");
  CHECK(c.runtime.worker_threads == 8);
  CHECK(c.runtime.io_threads == 3);
}

}  // namespace

TEST_CASE("empty text gives the struct defaults", "[config]") {
  const config c = parse_config("", "empty.toml", no_environment);
  CHECK(c.source == "empty.toml");
  CHECK(c.gateway.bind_address == "127.0.0.1");
  CHECK(c.gateway.port == 8080);
  CHECK(c.gateway.legacy_ports);
  CHECK(c.gateway.legacy_port_base == 8000);
  CHECK(c.gateway.max_body_bytes == 1048576);
  CHECK(c.gateway.request_timeout == 5000ms);
  CHECK(c.gateway.cors_allowed_origins == std::vector<std::string>{"*"});
  CHECK(c.agents.overrides.empty());
  CHECK(c.supervisor.restart_intensity == 5);
  CHECK(c.supervisor.backoff_jitter == 0.2);
  CHECK(c.admin.socket_path == "var/mercato.sock");
  CHECK_FALSE(c.admin.fault_injection);
  CHECK(c.log.level == "info");
  CHECK(c.log.format == "json");
  CHECK(c.runtime.worker_threads == 2);
  CHECK(c.runtime.io_threads == 1);
  CHECK(rendered_values(c) == rendered_values(config{}));
}

TEST_CASE("a file setting every key parses to those values", "[config]") {
  check_full_values(parse(full_text));
}

TEST_CASE("config/mercato.toml parses to the defaults and lists every key", "[config]") {
  const std::string path = source_dir() + "config/mercato.toml";
  const config c = load_config_file(path, no_environment);
  CHECK(c.source == path);
  CHECK(c.agents.overrides.empty());
  CHECK(rendered_values(c) == rendered_values(config{}));

  // Every section and key that render_config writes is spelled out in the shipped file.
  const std::string file_text = "\n" + read_text(path);
  std::istringstream rendered(render_config(config{}));
  for (std::string line; std::getline(rendered, line);) {
    if (line.empty() || line[0] == '#') continue;
    const std::string spelled = line[0] == '[' ? line : line.substr(0, line.find(" = ") + 3);
    INFO("rendered line: " << line);
    CHECK(file_text.find("\n" + spelled) != std::string::npos);
  }
}

TEST_CASE("load_config_file names a missing file", "[config]") {
  try {
    load_config_file("/nonexistent/mercato.toml", no_environment);
    FAIL("no config_error");
  } catch (const config_error& e) {
    CHECK_THAT(e.what(), Contains("/nonexistent/mercato.toml"));
  }
}

TEST_CASE("environment overrides win over the file", "[config]") {
  fake_environment = {
      {"MERCATO_BIND_ADDRESS", "10.0.0.1"},    {"MERCATO_GATEWAY_PORT", "9999"},
      {"MERCATO_LEGACY_PORTS", "1"},           {"MERCATO_LEGACY_PORT_BASE", "0"},
      {"MERCATO_ADMIN_SOCKET", "/tmp/m.sock"}, {"MERCATO_FAULT_INJECTION", "true"},
      {"MERCATO_LOG_LEVEL", "warn"},           {"MERCATO_LOG_FORMAT", "json"},
      {"MERCATO_WORKER_THREADS", "16"},        {"MERCATO_IO_THREADS", "4"},
  };
  const config c = parse_config(full_text, "config/mercato.toml", fake_getenv);
  CHECK(c.gateway.bind_address == "10.0.0.1");
  CHECK(c.gateway.port == 9999);
  CHECK(c.gateway.legacy_ports);
  CHECK(c.gateway.legacy_port_base == 0);
  CHECK(c.admin.socket_path == "/tmp/m.sock");
  CHECK(c.admin.fault_injection);
  CHECK(c.log.level == "warn");
  CHECK(c.log.format == "json");
  CHECK(c.runtime.worker_threads == 16);
  CHECK(c.runtime.io_threads == 4);
  // Keys without a variable keep the file's value.
  CHECK(c.gateway.max_body_bytes == 2048);

  fake_environment = {{"MERCATO_LEGACY_PORTS", "false"}, {"MERCATO_FAULT_INJECTION", "0"}};
  const config defaults_overridden = parse_config("", "empty.toml", fake_getenv);
  CHECK_FALSE(defaults_overridden.gateway.legacy_ports);
  CHECK_FALSE(defaults_overridden.admin.fault_injection);
}

TEST_CASE("a bad environment value names the variable", "[config]") {
  fake_environment = {{"MERCATO_GATEWAY_PORT", "x"}};
  CHECK(error_of("", fake_getenv) ==
        "environment: MERCATO_GATEWAY_PORT: expected an integer 0..65535, got \"x\"");
  fake_environment = {{"MERCATO_GATEWAY_PORT", "70000"}};
  CHECK(error_of("", fake_getenv) ==
        "environment: MERCATO_GATEWAY_PORT: expected an integer 0..65535, got 70000");
  fake_environment = {{"MERCATO_LEGACY_PORTS", "yes"}};
  CHECK_THAT(error_of("", fake_getenv), Contains("environment: MERCATO_LEGACY_PORTS:"));
  fake_environment = {{"MERCATO_LOG_LEVEL", "loud"}};
  CHECK_THAT(error_of("", fake_getenv),
             Contains("environment: MERCATO_LOG_LEVEL:") && Contains("\"loud\""));
  fake_environment = {{"MERCATO_WORKER_THREADS", "0"}};
  CHECK_THAT(error_of("", fake_getenv), Contains("environment: MERCATO_WORKER_THREADS:"));
}

TEST_CASE("unknown sections and keys are errors naming the file and the dotted key", "[config]") {
  CHECK(error_of("[gateway]\nprot = 8080\n") == "config/mercato.toml: unknown key 'gateway.prot'");
  CHECK(error_of("[gatway]\nport = 8080\n") == "config/mercato.toml: unknown section 'gatway'");
  CHECK(error_of("port = 8080\n") == "config/mercato.toml: unknown key 'port'");
  CHECK(error_of("[agents.order]\nenable = false\n") ==
        "config/mercato.toml: unknown key 'agents.order.enable'");
  // toml11's dotted keys are the same key as a table entry.
  CHECK(error_of("supervisor.restart_intensty = 2\n") ==
        "config/mercato.toml: unknown key 'supervisor.restart_intensty'");
}

TEST_CASE("an unknown agent name in [agents.<name>] is an error", "[config]") {
  CHECK_THAT(error_of("[agents.x]\nenabled = false\n"), Contains("config/mercato.toml") &&
                                                            Contains("unknown agent 'x'") &&
                                                            Contains("[agents.x]"));
}

TEST_CASE("wrong types and out-of-range values are errors naming key and value", "[config]") {
  CHECK(error_of("[gateway]\nport = \"abc\"\n") ==
        "config/mercato.toml: gateway.port: expected an integer 0..65535, got \"abc\"");
  CHECK(error_of("[gateway]\nport = 65536\n") ==
        "config/mercato.toml: gateway.port: expected an integer 0..65535, got 65536");
  CHECK_THAT(error_of("[gateway]\nlegacy_port_base = 65520\n"),
             Contains("gateway.legacy_port_base: expected an integer 0..65510, got 65520"));
  CHECK_THAT(error_of("[gateway]\nlegacy_ports = \"yes\"\n"),
             Contains("gateway.legacy_ports: expected true or false, got \"yes\""));
  CHECK_THAT(error_of("[gateway]\nmax_body_bytes = 0\n"),
             Contains("gateway.max_body_bytes: expected an integer >= 1, got 0"));
  CHECK_THAT(error_of("[gateway]\nrequest_timeout_ms = 0\n"),
             Contains("gateway.request_timeout_ms: expected a duration in milliseconds"));
  CHECK_THAT(error_of("[gateway]\nread_timeout_ms = \"5s\"\n"),
             Contains("gateway.read_timeout_ms:") && Contains("got \"5s\""));
  CHECK_THAT(error_of("[gateway]\ncors_allowed_origins = \"*\"\n"),
             Contains("gateway.cors_allowed_origins: expected an array of non-empty strings"));
  CHECK_THAT(error_of("[gateway]\ncors_allowed_origins = [\"\"]\n"),
             Contains("gateway.cors_allowed_origins:"));
  CHECK_THAT(error_of("[gateway]\nbind_address = \"\"\n"),
             Contains("gateway.bind_address: expected a non-empty string"));
  CHECK_THAT(error_of("[supervisor]\nbackoff_jitter = 1.5\n"),
             Contains("supervisor.backoff_jitter: expected a number 0..1, got 1.5"));
  CHECK_THAT(error_of("[supervisor]\nrestart_intensity = 0\n"),
             Contains("supervisor.restart_intensity:"));
  CHECK_THAT(error_of("[log]\nlevel = \"loud\"\n"),
             Contains("log.level: expected one of trace|debug|info|warn|error|off, got \"loud\""));
  CHECK_THAT(error_of("[log]\nformat = \"xml\"\n"),
             Contains("log.format: expected one of json|text"));
  CHECK_THAT(error_of("[runtime]\nworker_threads = 65\n"),
             Contains("runtime.worker_threads: expected an integer 1..64, got 65"));
  CHECK_THAT(error_of("[runtime]\nio_threads = 0\n"),
             Contains("runtime.io_threads: expected an integer 1..16, got 0"));
  CHECK_THAT(error_of("[agents.order]\nrestart = \"sometimes\"\n"),
             Contains("agents.order.restart: expected one of permanent|transient|temporary"));
  CHECK_THAT(error_of("gateway = 5\n"), Contains("gateway: expected a table, got 5"));
  CHECK_THAT(error_of("[database]\nretention_interval_s = 5\n"),
             Contains("database.retention_interval_s: expected an integer 10..86400, got 5"));
  CHECK_THAT(error_of("[database]\nprocessed_events_retention_days = 0\n"),
             Contains("database.processed_events_retention_days: expected an integer 1..3650, got 0"));

  const auto retention = parse("[database]\nretention_interval_s = 60\nprocessed_events_retention_days = 30\n");
  CHECK(retention.database.retention_interval_s == 60);
  CHECK(retention.database.processed_events_retention_days == 30);

  // An integer is a fine way to write jitter 0 or 1.
  CHECK(parse("[supervisor]\nbackoff_jitter = 0\n").supervisor.backoff_jitter == 0.0);
}

TEST_CASE("rules across keys are checked", "[config]") {
  CHECK_THAT(error_of("[supervisor]\nbackoff_min_ms = 600\nbackoff_max_ms = 500\n"),
             Contains("supervisor.backoff_min_ms (600) must not exceed supervisor.backoff_max_ms"));
  CHECK_THAT(
      error_of("[gateway]\nport = 8005\n"),
      Contains("config/mercato.toml: gateway.port 8005 collides with the legacy agent ports"));
  // No collision when legacy ports are off or either side is ephemeral.
  CHECK(parse("[gateway]\nport = 8005\nlegacy_ports = false\n").gateway.port == 8005);
  CHECK(parse("[gateway]\nport = 8005\nlegacy_port_base = 0\n").gateway.port == 8005);
  CHECK(parse("[gateway]\nport = 0\nlegacy_port_base = 0\n").gateway.port == 0);
  CHECK(parse("[gateway]\nport = 7999\n").gateway.port == 7999);

  // Environment overrides are checked against the same rules.
  fake_environment = {{"MERCATO_GATEWAY_PORT", "8000"}};
  CHECK_THAT(error_of("", fake_getenv), Contains("gateway.port 8000 collides"));
}

TEST_CASE("a TOML syntax error names the file and the line", "[config]") {
  const std::string error = error_of("[gateway]\nport = \n");
  CHECK_THAT(error, Contains("config/mercato.toml: invalid TOML"));
  CHECK_THAT(error, Contains(" 2 | port = "));
}

TEST_CASE("render_config output parses back to the same configuration", "[config]") {
  const config original = parse(full_text);
  const std::string rendered = render_config(original);
  const config reparsed = parse(rendered);
  check_full_values(reparsed);
  CHECK(render_config(reparsed) == rendered);

  const config defaults = parse(render_config(config{}));
  CHECK(rendered_values(defaults) == rendered_values(config{}));

  // Strings that need escaping survive too.
  fake_environment = {{"MERCATO_ADMIN_SOCKET", "dir with \"quotes\"\\and\nnewline.sock"}};
  const config odd = parse_config("", "odd.toml", fake_getenv);
  CHECK(parse(render_config(odd)).admin.socket_path == odd.admin.socket_path);
}

TEST_CASE("agents_config gives per-agent values with fallbacks", "[config]") {
  const config c = parse(full_text);
  const agent_spec order{
      "order", 0, "order", "orders", "Order", "order_agent", restart_type::permanent, nullptr};
  const agent_spec product{
      "product", 1, "product", "catalog", "Product", "product_agent", restart_type::transient,
      nullptr};
  CHECK_FALSE(c.agents.enabled("order"));
  CHECK(c.agents.enabled("product"));
  CHECK(c.agents.restart(order) == restart_type::temporary);
  CHECK(c.agents.restart(product) == restart_type::transient);
  CHECK(agent_request_timeout(c, "order") == 250ms);  // its own value, even below place_wait
  CHECK(agent_request_timeout(c, "payment") == 1500ms);
  CHECK(agent_request_timeout(c, "product") == 1500ms);
}

TEST_CASE("the gateway waits for the order agent longer than POST /orders waits for its saga", "[config]") {
  // Defaults: every agent 5 s, the order agent place_wait (10 s) + the margin for its checks.
  const config defaults = parse_config("", "empty.toml", no_environment);
  CHECK(agent_request_timeout(defaults, "product") == 5000ms);
  CHECK(agent_request_timeout(defaults, "order") == 15000ms);
  CHECK(agent_request_timeout(defaults, "order") > defaults.order.place_wait);

  // It follows place_wait, and a longer gateway deadline stays the longer.
  const config shorter = parse_config("[order]\nplace_wait_ms = 2000\n", "t.toml", no_environment);
  CHECK(agent_request_timeout(shorter, "order") == 7000ms);
  const config patient = parse_config("[gateway]\nrequest_timeout_ms = 30000\n", "t.toml", no_environment);
  CHECK(agent_request_timeout(patient, "order") == 30000ms);
  CHECK(agent_request_timeout(patient, "payment") == 30000ms);

  // The agent's own value is the operator's choice, whatever place_wait is.
  const config own = parse_config("[agents.order]\nrequest_timeout_ms = 3000\n", "t.toml", no_environment);
  CHECK(agent_request_timeout(own, "order") == 3000ms);
}

TEST_CASE("restart types convert to and from their names", "[config]") {
  for (restart_type t : {restart_type::permanent, restart_type::transient, restart_type::temporary})
    CHECK(parse_restart_type(to_string(t)) == t);
  CHECK(to_string(restart_type::transient) == "transient");
  CHECK(parse_restart_type("Permanent") == std::nullopt);
  CHECK(parse_restart_type("") == std::nullopt);
}

TEST_CASE("domain sections read money as decimal strings and mask the Stripe key") {
  const auto c = mercato::parse_config(
      "[shipping]\nstandard = \"4.50\"\nfree_standard_threshold = 0\n"
      "[payment]\nstripe_secret_key = \"sk_test_abc\"\n[order]\npayment_window_ms = 2000\n",
      "t.toml");
  CHECK(c.shipping.standard_cents == 450);
  CHECK(c.shipping.free_standard_threshold_cents == 0);
  CHECK(c.order.payment_window == std::chrono::milliseconds(2000));
  CHECK(c.payment.stripe_secret_key == "sk_test_abc");
  const auto rendered = mercato::render_config(c);
  CHECK(rendered.find("sk_test_abc") == std::string::npos);
  CHECK(rendered.find("4.50") != std::string::npos);
  CHECK_THROWS_WITH(mercato::parse_config("[shipping]\nexpress = \"-1\"\n", "t.toml"),
                    Catch::Contains("shipping.express"));
  CHECK_THROWS_WITH(mercato::parse_config("[order]\nsaga_max_attempts = 0\n", "t.toml"),
                    Catch::Contains("order.saga_max_attempts"));
  CHECK(mercato::parse_config("", "t.toml").order.retry_after_agent_stop == std::chrono::milliseconds(100));
  CHECK(mercato::parse_config("[order]\nretry_after_agent_stop_ms = 250\n", "t.toml").order.retry_after_agent_stop ==
        std::chrono::milliseconds(250));
  CHECK_THROWS_WITH(mercato::parse_config("[order]\nretry_after_agent_stop_ms = -5\n", "t.toml"),
                    Catch::Contains("order.retry_after_agent_stop_ms"));
  const auto batching = mercato::parse_config("[order]\nconfirm_batch_max = 1\nconfirm_batches_in_flight = 4\n", "t.toml");
  CHECK(batching.order.confirm_batch_max == 1);
  CHECK(batching.order.confirm_batches_in_flight == 4);
  CHECK(batching.order.placement_batch_max == 32);  // the default
  const auto placing = mercato::parse_config("[order]\nplacement_batch_max = 5\nplacement_batches_in_flight = 3\n", "t.toml");
  CHECK(placing.order.placement_batch_max == 5);
  CHECK(placing.order.placement_batches_in_flight == 3);
  CHECK_THROWS_WITH(mercato::parse_config("[order]\nplacement_batches_in_flight = 65\n", "t.toml"),
                    Catch::Contains("order.placement_batches_in_flight"));
  CHECK_THROWS_WITH(mercato::parse_config("[order]\nconfirm_batch_max = 0\n", "t.toml"),
                    Catch::Contains("order.confirm_batch_max"));
  const auto reserves = mercato::parse_config(
      "[inventory]\nreserve_batch_max = 8\nreserve_batches_in_flight = 3\nsweep_interval_ms = 500\n", "t.toml");
  CHECK(reserves.inventory.reserve_batch_max == 8);
  CHECK(reserves.inventory.reserve_batches_in_flight == 3);
  CHECK(reserves.inventory.sweep_interval == std::chrono::milliseconds(500));
  CHECK(mercato::parse_config("", "t.toml").inventory.reserve_batch_max == 32);
  CHECK_THROWS_WITH(mercato::parse_config("[inventory]\nreserve_batches_in_flight = 65\n", "t.toml"),
                    Catch::Contains("inventory.reserve_batches_in_flight"));
  const auto scorings = mercato::parse_config(
      "[fraud_detection]\nscoring_batch_max = 4\nscoring_batches_in_flight = 1\n"
      "[payment]\nauthorize_batch_max = 1\nauthorize_batches_in_flight = 5\n", "t.toml");
  CHECK(scorings.fraud.scoring_batch_max == 4);
  CHECK(scorings.fraud.scoring_batches_in_flight == 1);
  CHECK(scorings.payment.authorize_batch_max == 1);
  CHECK(scorings.payment.authorize_batches_in_flight == 5);
  CHECK(mercato::parse_config("", "t.toml").fraud.scoring_batch_max == 32);
  CHECK(mercato::parse_config("", "t.toml").payment.authorize_batches_in_flight == 2);
  CHECK_THROWS_WITH(mercato::parse_config("[fraud_detection]\nscoring_batch_max = 0\n", "t.toml"),
                    Catch::Contains("fraud_detection.scoring_batch_max"));
  CHECK_THROWS_WITH(mercato::parse_config("[payment]\nauthorize_batches_in_flight = 65\n", "t.toml"),
                    Catch::Contains("payment.authorize_batches_in_flight"));
}
