// Structured logging: one JSON object per line on stderr (or `key=value` text), level changeable
// at run time. Fields are typed so numbers stay numbers in JSON.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace mercato::log {

enum class level : uint8_t { trace, debug, info, warn, error, off };

std::optional<level> parse_level(std::string_view s);
std::string_view to_string(level l);

void set_level(level l);
level current_level();
void set_json(bool json);  // false: human-readable text

struct field {
  using value_type = std::variant<std::string_view, int64_t, uint64_t, double, bool>;
  std::string_view key;
  value_type value;

  field(std::string_view k, std::string_view v) : key(k), value(v) {}
  field(std::string_view k, const std::string& v) : key(k), value(std::string_view{v}) {}
  field(std::string_view k, const char* v) : key(k), value(std::string_view{v}) {}
  field(std::string_view k, bool v) : key(k), value(v) {}
  field(std::string_view k, double v) : key(k), value(v) {}
  template <class Int, std::enable_if_t<std::is_integral_v<Int> && std::is_signed_v<Int>, int> = 0>
  field(std::string_view k, Int v) : key(k), value(static_cast<int64_t>(v)) {}
  template <class Int,
            std::enable_if_t<std::is_integral_v<Int> && !std::is_signed_v<Int> &&
                                 !std::is_same_v<Int, bool>,
                             int> = 0>
  field(std::string_view k, Int v) : key(k), value(static_cast<uint64_t>(v)) {}
};

// `component` is the agent or subsystem ("gateway", "supervisor", "order"); `event` a snake_case
// name of what happened ("agent_restarted").
void write(level l, std::string_view component, std::string_view event,
           std::initializer_list<field> fields = {});

inline bool enabled(level l) { return l >= current_level(); }

inline void trace(std::string_view c, std::string_view e, std::initializer_list<field> f = {}) {
  if (enabled(level::trace)) write(level::trace, c, e, f);
}
inline void debug(std::string_view c, std::string_view e, std::initializer_list<field> f = {}) {
  if (enabled(level::debug)) write(level::debug, c, e, f);
}
inline void info(std::string_view c, std::string_view e, std::initializer_list<field> f = {}) {
  if (enabled(level::info)) write(level::info, c, e, f);
}
inline void warn(std::string_view c, std::string_view e, std::initializer_list<field> f = {}) {
  if (enabled(level::warn)) write(level::warn, c, e, f);
}
inline void error(std::string_view c, std::string_view e, std::initializer_list<field> f = {}) {
  if (enabled(level::error)) write(level::error, c, e, f);
}

}  // namespace mercato::log
