// Implementation of the structured logger: formats a whole line, then writes it with one call so
// lines from different threads never interleave.
#include "log/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

#include <fmt/format.h>

#include "http/json_text.hpp"
#include "runtime/clock.hpp"

namespace mercato::log {
namespace {

std::atomic<level> g_level{level::info};
std::atomic<bool> g_json{true};
std::mutex g_write_mutex;

void append_value(std::string& out, const field::value_type& v, bool json) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string_view>) {
          if (json)
            http::append_json_string(out, x);
          else
            out.append(x);
        } else if constexpr (std::is_same_v<T, bool>) {
          out.append(x ? "true" : "false");
        } else {
          fmt::format_to(std::back_inserter(out), "{}", x);
        }
      },
      v);
}

}  // namespace

std::optional<level> parse_level(std::string_view s) {
  if (s == "trace") return level::trace;
  if (s == "debug") return level::debug;
  if (s == "info") return level::info;
  if (s == "warn" || s == "warning") return level::warn;
  if (s == "error") return level::error;
  if (s == "off") return level::off;
  return std::nullopt;
}

std::string_view to_string(level l) {
  switch (l) {
    case level::trace: return "trace";
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
    case level::off: return "off";
  }
  return "info";
}

void set_level(level l) { g_level.store(l, std::memory_order_relaxed); }
level current_level() { return g_level.load(std::memory_order_relaxed); }
void set_json(bool json) { g_json.store(json, std::memory_order_relaxed); }

void write(level l, std::string_view component, std::string_view event,
           std::initializer_list<field> fields) {
  const bool json = g_json.load(std::memory_order_relaxed);
  std::string line;
  line.reserve(160);
  if (json) {
    line.append("{\"ts\":\"").append(clock::iso8601_now());
    line.append("\",\"level\":\"").append(to_string(l)).append("\",\"component\":");
    http::append_json_string(line, component);
    line.append(",\"event\":");
    http::append_json_string(line, event);
    for (const auto& f : fields) {
      line.push_back(',');
      http::append_json_string(line, f.key);
      line.push_back(':');
      append_value(line, f.value, true);
    }
    line.append("}\n");
  } else {
    line.append(clock::iso8601_now());
    fmt::format_to(std::back_inserter(line), " {:5} {} {}", to_string(l), component, event);
    for (const auto& f : fields) {
      line.push_back(' ');
      line.append(f.key).push_back('=');
      append_value(line, f.value, false);
    }
    line.push_back('\n');
  }
  std::lock_guard<std::mutex> guard{g_write_mutex};
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace mercato::log
