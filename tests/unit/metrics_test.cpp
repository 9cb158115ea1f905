// Prometheus rendering of gateway metrics and supervisor counters.
#include <catch2/catch.hpp>

#include "mercato/agent_directory.hpp"
#include "runtime/metrics.hpp"

using namespace mercato;

TEST_CASE("requests are counted by agent, method and status with a latency histogram") {
  std::vector<agent_directory::row> rows;
  for (const auto& spec : agent_registry()) rows.push_back({&spec, spec.restart, true});
  agent_directory dir{rows};
  http_metrics m{dir.size()};
  m.record(0, "GET", 200, std::chrono::microseconds(300));
  m.record(0, "GET", 200, std::chrono::microseconds(7000));
  m.record(0, "POST", 418, std::chrono::microseconds(10));
  m.record(m.gateway_slot(), "GET", 404, std::chrono::microseconds(10));
  dir.at(0).count_restart(restart_reason::hang);
  auto text = m.render_prometheus(dir);
  CHECK(m.requests(0) == 3);
  CHECK(text.find("mercato_http_requests_total{agent=\"order\",method=\"GET\",status=\"200\"} 2") !=
        std::string::npos);
  CHECK(text.find("mercato_http_requests_total{agent=\"order\",method=\"POST\",status=\"4xx\"} 1") !=
        std::string::npos);
  CHECK(text.find("mercato_http_requests_total{agent=\"gateway\",method=\"GET\",status=\"404\"} 1") !=
        std::string::npos);
  CHECK(text.find("mercato_http_request_duration_seconds_bucket{agent=\"order\",le=\"0.0005\"} 2") !=
        std::string::npos);
  CHECK(text.find("mercato_http_request_duration_seconds_bucket{agent=\"order\",le=\"+Inf\"} 3") !=
        std::string::npos);
  CHECK(text.find("mercato_agent_restarts_total{agent=\"order\",reason=\"hang\"} 1") !=
        std::string::npos);
}

TEST_CASE("latency_histogram: a value on a bound falls in that bucket, samples are cumulative, with sum and count") {
  latency_histogram h;
  h.record(std::chrono::microseconds(500));      // exactly 0.0005 s: le="0.0005"
  h.record(std::chrono::microseconds(501));      // just above: le="0.001"
  h.record(std::chrono::microseconds(3000));     // le="0.005"
  h.record(std::chrono::microseconds(9000000));  // past the last bound: +Inf only
  h.record(std::chrono::microseconds(-5));       // a clock step back counts as 0
  CHECK(h.count() == 5);
  CHECK(h.sum() == std::chrono::microseconds(500 + 501 + 3000 + 9000000));

  std::string labelled, plain;
  h.render_samples(labelled, "x_seconds", "agent=\"order\"");
  h.render_samples(plain, "y_seconds", "");
  CHECK(labelled.find("x_seconds_bucket{agent=\"order\",le=\"0.0005\"} 2\n") != std::string::npos);
  CHECK(labelled.find("x_seconds_bucket{agent=\"order\",le=\"0.001\"} 3\n") != std::string::npos);
  CHECK(labelled.find("x_seconds_bucket{agent=\"order\",le=\"0.0025\"} 3\n") != std::string::npos);
  CHECK(labelled.find("x_seconds_bucket{agent=\"order\",le=\"5\"} 4\n") != std::string::npos);
  CHECK(labelled.find("x_seconds_bucket{agent=\"order\",le=\"+Inf\"} 5\n") != std::string::npos);
  CHECK(labelled.find("x_seconds_sum{agent=\"order\"} 9.004001\n") != std::string::npos);
  CHECK(labelled.find("x_seconds_count{agent=\"order\"} 5\n") != std::string::npos);
  CHECK(plain.find("y_seconds_bucket{le=\"0.0005\"} 2\n") != std::string::npos);
  CHECK(plain.find("y_seconds_sum 9.004001\ny_seconds_count 5\n") != std::string::npos);
}
