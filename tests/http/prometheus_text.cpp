// Prometheus text format parser for the tests (see prometheus_text.hpp).
#include "prometheus_text.hpp"

#include <cmath>
#include <cstdlib>
#include <set>
#include <stdexcept>

namespace mercato::test {
namespace {

bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

// Cursor over one line; every take_* fails with the line quoted.
struct line_reader {
  std::string_view line;
  size_t pos = 0;

  [[noreturn]] void fail(std::string_view why) const {
    throw std::invalid_argument("metrics line '" + std::string(line) + "': " + std::string(why) +
                                " at column " + std::to_string(pos + 1));
  }
  bool at_end() const { return pos >= line.size(); }
  char peek() const { return at_end() ? '\0' : line[pos]; }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos;
  }

  // Metric names allow ':'; label names do not.
  std::string take_name(bool colon_allowed) {
    const size_t start = pos;
    auto first_ok = [&](char c) { return name_start(c) && (colon_allowed || c != ':'); };
    auto next_ok = [&](char c) { return name_char(c) && (colon_allowed || c != ':'); };
    if (at_end() || !first_ok(peek())) fail("expected a name");
    ++pos;
    while (!at_end() && next_ok(peek())) ++pos;
    return std::string(line.substr(start, pos - start));
  }

  std::string take_label_value() {
    expect('"');
    std::string value;
    for (;;) {
      if (at_end()) fail("unterminated label value");
      char c = line[pos++];
      if (c == '"') return value;
      if (c != '\\') {
        value.push_back(c);
        continue;
      }
      if (at_end()) fail("dangling escape");
      char e = line[pos++];
      if (e == 'n') value.push_back('\n');
      else if (e == '\\' || e == '"') value.push_back(e);
      else fail("bad escape");
    }
  }

  std::map<std::string, std::string> take_labels() {
    std::map<std::string, std::string> labels;
    expect('{');
    while (peek() != '}') {
      std::string name = take_name(false);
      expect('=');
      if (!labels.emplace(name, take_label_value()).second) fail("repeated label '" + name + "'");
      if (peek() == ',') ++pos;
      else if (peek() != '}') fail("expected ',' or '}'");
    }
    expect('}');
    return labels;
  }

  double take_value() {
    const size_t start = pos;
    while (!at_end() && peek() != ' ') ++pos;
    const std::string text(line.substr(start, pos - start));
    if (text == "+Inf") return INFINITY;
    if (text == "-Inf") return -INFINITY;
    if (text == "NaN") return NAN;
    if (text.empty() || text.find_first_not_of("0123456789.eE+-") != std::string::npos)
      fail("bad value '" + text + "'");
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size()) fail("bad value '" + text + "'");
    return v;
  }
};

// The family a sample belongs to: histograms and summaries add suffixes to their samples.
std::string family_of(const std::string& sample, const std::map<std::string, std::string>& types) {
  if (types.count(sample)) return sample;
  for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (sample.size() > suffix.size() &&
        sample.compare(sample.size() - suffix.size(), suffix.size(), suffix) == 0) {
      std::string base = sample.substr(0, sample.size() - suffix.size());
      auto it = types.find(base);
      if (it != types.end() && (it->second == "histogram" || it->second == "summary")) return base;
    }
  }
  return {};
}

}  // namespace

std::optional<double> prometheus_text::value(
    std::string_view name, const std::map<std::string, std::string>& labels) const {
  for (const auto& s : samples) {
    if (s.name != name) continue;
    bool all = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      all = all && it != s.labels.end() && it->second == v;
    }
    if (all) return s.value;
  }
  return std::nullopt;
}

prometheus_text parse_prometheus(std::string_view text) {
  static const std::set<std::string> known_types{"counter", "gauge", "histogram", "summary",
                                                 "untyped"};
  prometheus_text out;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    line_reader r{text.substr(0, eol)};
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (r.line.empty()) continue;
    if (r.line.front() == '#') {
      // "# TYPE name type" must be well formed; "# HELP" and other comments are free text.
      if (r.line.substr(0, 7) != "# TYPE ") continue;
      r.pos = 7;
      std::string name = r.take_name(true);
      r.expect(' ');
      std::string type(r.line.substr(r.pos));
      if (!known_types.count(type)) r.fail("unknown metric type '" + type + "'");
      if (!out.types.emplace(name, type).second) r.fail("second TYPE line for '" + name + "'");
      continue;
    }
    prometheus_sample s;
    s.name = r.take_name(true);
    if (r.peek() == '{') s.labels = r.take_labels();
    r.expect(' ');
    s.value = r.take_value();
    if (r.peek() == ' ') {  // optional timestamp in milliseconds
      ++r.pos;
      if (r.at_end() || r.line.substr(r.pos).find_first_not_of("-0123456789") != std::string::npos)
        r.fail("bad timestamp");
      r.pos = r.line.size();
    }
    if (!r.at_end()) r.fail("trailing characters");
    if (family_of(s.name, out.types).empty()) r.fail("no # TYPE line before this sample");
    out.samples.push_back(std::move(s));
  }
  return out;
}

}  // namespace mercato::test
