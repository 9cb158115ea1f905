// HTTP tests of self-healing as clients see it (DESIGN.md §3, §5): 503 + Retry-After for stopped,
// failed or saturated agents, crash recovery that spares the others, 504, calls to a dying agent.
#include <catch2/catch.hpp>

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "prometheus_text.hpp"
#include "server_fixture.hpp"

using namespace mercato;
using namespace mercato::test;
using Catch::Matchers::Contains;

namespace {

// The incarnation serving `agent`, or nullopt while it does not answer /health with 200.
std::optional<uint32_t> serving_incarnation(const test_server& server, std::string_view agent) {
  const auto r = server.get(agent, "/health");
  if (r.status != 200) return std::nullopt;
  return json_body(r).at("incarnation").get<uint32_t>();
}

// Waits until `agent` answers /health with an incarnation above `previous`; returns it (0: never).
uint32_t wait_for_new_incarnation(const test_server& server, std::string_view agent,
                                  uint32_t previous) {
  uint32_t now = 0;
  eventually([&] {
    auto inc = serving_incarnation(server, agent);
    if (inc && *inc > previous) now = *inc;
    return now != 0;
  });
  return now;
}

// One sample of the gateway's /metrics (throws when /metrics fails or the sample is missing).
double metric(const test_server& server, std::string_view name,
              const std::map<std::string, std::string>& labels) {
  const auto r = server.get_gateway("/metrics");
  if (r.status != 200) throw std::runtime_error("/metrics answered " + std::to_string(r.status));
  const auto v = parse_prometheus(r.body).value(name, labels);
  if (!v) throw std::runtime_error("no sample " + std::string(name) + " in /metrics");
  return *v;
}

std::string detail_of(const http_result& r) { return json_body(r).at("detail").get<std::string>(); }

// State of `agent` in the gateway's /health.
std::string gateway_state_of(const test_server& server, std::string_view agent) {
  const auto health = json_body(server.get_gateway("/health"));
  for (const auto& a : health.at("agents"))
    if (a.at("agent") == std::string(agent)) return a.at("state").get<std::string>();
  return "absent";
}

// Heartbeats that never time out during a test's injected hangs: the hang stays a hang.
void patient_supervisor(config& c) { c.supervisor.heartbeat_deadline = 10s; }

// A repeated crash restarted after exactly `backoff` (no jitter).
void exact_backoff(config& c, std::chrono::milliseconds backoff) {
  c.supervisor.backoff_min = backoff;
  c.supervisor.backoff_max = backoff;
  c.supervisor.backoff_jitter = 0;
}

// Crashes `agent` twice: the first crash is restarted at once, the second only after the
// supervisor's backoff, so `agent` is left `restarting` (incarnation 2 gone, 3 to come).
void crash_into_backoff(test_server& server, const std::string& agent) {
  server.admin("crash " + agent);
  REQUIRE(wait_for_new_incarnation(server, agent, 1) == 2);
  server.admin("crash " + agent);
  REQUIRE(eventually([&] { return gateway_state_of(server, agent) == "restarting"; }));
}

// A request (GET unless told) on a thread of its own; the result is read after join().
struct background_call {
  http_result result;
  std::string error;
  std::thread thread;

  background_call(uint16_t port, std::string target, std::string method = "GET")
      : thread([this, port, target = std::move(target), method = std::move(method)] {
          try {
            result = request(port, method, target);
          } catch (const std::exception& e) {
            error = e.what();
          }
        }) {}
  background_call(const background_call&) = delete;
  ~background_call() {
    if (thread.joinable()) thread.join();
  }
  void join() { thread.join(); }
};

}  // namespace

TEST_CASE("a stopped agent answers 503 with Retry-After until it is started", "[http][supervision]") {
  test_server server;
  server.admin("stop order");

  const auto legacy = server.get("order", "/health");
  CHECK(legacy.status == 503);
  CHECK(legacy.header("retry-after") == "1");
  CHECK_THAT(detail_of(legacy), Contains("stopped"));
  const auto routed = server.get_gateway("/api/order/health");
  CHECK(routed.status == 503);
  CHECK(routed.has_header("retry-after"));
  CHECK(gateway_state_of(server, "order") == "stopped");
  CHECK(server.get("product", "/health").status == 200);

  server.admin("start order");
  CHECK(wait_for_new_incarnation(server, "order", 1) > 1);
  CHECK(server.get_gateway("/api/order/health").status == 200);
}

TEST_CASE("a crashed agent comes back with a new incarnation, other agents answer throughout",
          "[http][supervision]") {
  test_server server;
  const auto product = server.legacy_port("product");

  std::atomic<bool> done{false};
  std::atomic<int> product_ok{0};
  std::vector<std::string> product_failures;  // written by the poller only, read after join
  std::thread poller([&] {
    while (!done.load()) {
      try {
        const auto r = request(product, "GET", "/health");
        if (r.status == 200) ++product_ok;
        else product_failures.push_back(std::to_string(r.status) + " " + r.body);
      } catch (const std::exception& e) {
        product_failures.push_back(e.what());
      }
    }
  });

  constexpr int crashes = 3;
  auto incarnation = serving_incarnation(server, "order");
  REQUIRE(incarnation);
  for (int i = 0; i < crashes; ++i) {
    server.admin("crash order");
    const auto next = wait_for_new_incarnation(server, "order", *incarnation);
    INFO("crash " << i + 1);
    REQUIRE(next > *incarnation);
    incarnation = next;
  }
  done = true;
  poller.join();

  for (const auto& f : product_failures) UNSCOPED_INFO("product failure: " << f);
  CHECK(product_failures.empty());
  CHECK(product_ok.load() > 0);

  const auto health = json_body(server.get("order", "/health"));
  CHECK(health.at("restarts") == crashes);
  CHECK(metric(server, "mercato_agent_restarts_total", {{"agent", "order"}, {"reason", "crash"}}) ==
        crashes);
  CHECK(metric(server, "mercato_agent_restarts_total", {{"agent", "product"}, {"reason", "crash"}}) ==
        0);
}

TEST_CASE("an agent over its restart intensity is failed until an operator starts it",
          "[http][supervision]") {
  test_server server([](config& c) { c.supervisor.restart_intensity = 1; });
  server.admin("crash order");
  REQUIRE(wait_for_new_incarnation(server, "order", 1) > 1);
  server.admin("crash order");
  REQUIRE(eventually([&] { return gateway_state_of(server, "order") == "failed"; }));

  const auto r = server.get("order", "/health");
  CHECK(r.status == 503);
  CHECK(r.has_header("retry-after"));
  CHECK_THAT(detail_of(r), Contains("failed"));
  const auto ready = server.get_gateway("/ready");
  CHECK(ready.status == 503);
  CHECK(json_body(ready).at("failed_agents") == 1);
  CHECK(json_body(server.get_gateway("/health")).at("status") == "unhealthy");
  CHECK(server.get("product", "/health").status == 200);

  server.admin("start order");
  CHECK(wait_for_new_incarnation(server, "order", 2) > 2);
  CHECK(server.get_gateway("/ready").status == 200);
}

TEST_CASE("over max_in_flight_per_agent the gateway answers 503 saturated", "[http][supervision]") {
  test_server server([](config& c) {
    patient_supervisor(c);
    c.gateway.max_in_flight_per_agent = 2;
    c.gateway.request_timeout = 10s;
  });
  const auto port = server.legacy_port("order");
  server.admin("hang order 2000");

  background_call first{port, "/health"};
  background_call second{port, "/health"};
  const std::map<std::string, std::string> order{{"agent", "order"}};
  REQUIRE(eventually([&] { return metric(server, "mercato_agent_in_flight", order) == 2; }));

  const auto third = server.get("order", "/health");
  CHECK(third.status == 503);
  CHECK(third.has_header("retry-after"));
  CHECK_THAT(detail_of(third), Contains("saturated"));
  CHECK(server.get("product", "/health").status == 200);

  first.join();
  second.join();
  CHECK(first.error.empty());
  CHECK(second.error.empty());
  CHECK(first.result.status == 200);
  CHECK(second.result.status == 200);
  CHECK(eventually([&] { return metric(server, "mercato_agent_in_flight", order) == 0; }));
  CHECK(server.get("order", "/health").status == 200);
}

TEST_CASE("an agent that does not answer within request_timeout gets 504", "[http][supervision]") {
  // The order agent's own deadline ([agents.order] request_timeout): the other agents keep the
  // gateway's 5 s, so a loaded machine cannot turn the product agent's answer into a 504.
  test_server server([](config& c) {
    patient_supervisor(c);
    c.agents.overrides["order"].request_timeout = 200ms;
  });
  server.admin("hang order 1500");

  const auto r = server.get("order", "/health");
  CHECK(r.status == 504);
  CHECK_THAT(detail_of(r), Contains("did not answer"));
  CHECK(server.get("product", "/health").status == 200);

  // The agent answers again once the hang is over, and the timed-out call left no trace.
  CHECK(eventually([&] { return server.get("order", "/health").status == 200; }));
  CHECK(eventually(
      [&] { return metric(server, "mercato_agent_in_flight", {{"agent", "order"}}) == 0; }));
}

// A second crash within restart_period_ms waits out the supervisor's backoff in `restarting`. A
// GET arriving meanwhile waits for the next incarnation, as it would had it reached the crashed
// one first (resend_policy); a write is refused at once.
TEST_CASE("a GET arriving while its agent restarts waits for it, a write is refused 503", "[http][supervision]") {
  test_server server([](config& c) { exact_backoff(c, 600ms); });
  crash_into_backoff(server, "order");

  background_call write{server.legacy_port("order"), "/health", "POST"};
  background_call read{server.legacy_port("order"), "/health"};
  write.join();
  read.join();
  CHECK(write.error.empty());
  CHECK(write.result.status == 503);
  CHECK_THAT(detail_of(write.result), Contains("restarting"));
  CHECK(read.error.empty());
  CHECK(read.result.status == 200);
  CHECK(json_body(read.result).at("incarnation") == 3);
}

// A backoff longer than the agent's timeout: waiting could only end in a 503 at the timeout, so the
// 503 comes at once, and its Retry-After says when the agent will be back (as /health does).
TEST_CASE("a GET for an agent whose restart is due after its timeout is refused at once, with that Retry-After",
          "[http][supervision]") {
  test_server server([](config& c) { exact_backoff(c, 30s); });
  crash_into_backoff(server, "order");

  const auto sent = std::chrono::steady_clock::now();
  const auto read = server.get("order", "/health");
  const auto took = std::chrono::steady_clock::now() - sent;
  CHECK(read.status == 503);
  CHECK(took < 2s);  // the order agent's timeout is 15 s: without the due time the GET waited it out
  CHECK_THAT(detail_of(read), Contains("restarting in"));
  REQUIRE(read.has_header("retry-after"));
  const int retry_after = std::stoi(read.header("retry-after"));
  CHECK(retry_after >= 25);
  CHECK(retry_after <= 30);

  auto restart_in_ms = [&]() -> nlohmann::json {
    const auto health = json_body(server.get_gateway("/health"));
    for (const auto& a : health.at("agents"))
      if (a.at("agent") == "order") return a.at("restart_in_ms");
    return "absent";
  };
  const auto due = restart_in_ms();
  REQUIRE(due.is_number_integer());
  CHECK(due.get<int64_t>() > 25000);
  CHECK(due.get<int64_t>() <= 30000);

  server.admin("restart order");  // an operator's restart does not wait for the backoff
  CHECK(wait_for_new_incarnation(server, "order", 2) == 3);
  CHECK(restart_in_ms().is_null());
}

TEST_CASE("calls waiting for an agent that goes down are answered, never left hanging",
          "[http][supervision]") {
  test_server server([](config& c) {
    patient_supervisor(c);
    c.gateway.request_timeout = 30s;  // far beyond the client's own 5 s: a hang shows as an error
  });
  const std::map<std::string, std::string> order{{"agent", "order"}};
  server.admin("hang order 2000");

  SECTION("the agent crashes with a GET in its mailbox: its next incarnation answers it") {
    server.admin("crash order");  // queued behind the hang, ahead of the call
    background_call waiting{server.legacy_port("order"), "/health"};
    REQUIRE(eventually([&] { return metric(server, "mercato_agent_in_flight", order) == 1; }));
    waiting.join();
    CHECK(waiting.error.empty());
    CHECK(waiting.result.status == 200);
    CHECK(json_body(waiting.result).at("incarnation") == 2);
    CHECK(metric(server, "mercato_http_resent_after_agent_stop_total", {}) == 1);
  }
  SECTION("the agent crashes with a write in its mailbox: 503 at once, not sent twice") {
    server.admin("crash order");
    background_call waiting{server.legacy_port("order"), "/health", "POST"};
    REQUIRE(eventually([&] { return metric(server, "mercato_agent_in_flight", order) == 1; }));
    waiting.join();
    CHECK(waiting.error.empty());
    CHECK(waiting.result.status == 503);
    CHECK(waiting.result.has_header("retry-after"));
    CHECK(metric(server, "mercato_http_resent_after_agent_stop_total", {}) == 0);
  }
  SECTION("the agent is restarted by the operator: the queued call is answered or refused") {
    background_call waiting{server.legacy_port("order"), "/health"};
    REQUIRE(eventually([&] { return metric(server, "mercato_agent_in_flight", order) == 1; }));
    server.admin("restart order");
    waiting.join();
    CHECK(waiting.error.empty());
    CHECK((waiting.result.status == 200 || waiting.result.status == 503));
  }
  CHECK(wait_for_new_incarnation(server, "order", 1) > 1);
  CHECK(eventually([&] { return metric(server, "mercato_agent_in_flight", order) == 0; }));
}
