// A strict parser of the Prometheus text exposition format (0.0.4) for the /metrics tests: each
// sample line is name, optional {label="value",...}, a value that parses as a double.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mercato::test {

struct prometheus_sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct prometheus_text {
  std::vector<prometheus_sample> samples;
  std::map<std::string, std::string> types;  // metric family -> counter|gauge|histogram|...

  // Value of the first sample named `name` whose labels include all of `labels`.
  std::optional<double> value(std::string_view name,
                              const std::map<std::string, std::string>& labels = {}) const;
};

// Throws std::invalid_argument quoting the offending line: a malformed sample or # TYPE line, or a
// sample whose family has no # TYPE line before it.
prometheus_text parse_prometheus(std::string_view text);

}  // namespace mercato::test
