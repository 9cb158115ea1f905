// Turns the admin socket's JSON replies into text for `mercato console`: tables for status and
// agents, key: value lines for one object, plain text for metrics and config. Pure functions.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace mercato::console {

struct rendered_reply {
  bool ok = false;   // the server's "ok"
  std::string text;  // ends with '\n'; for stdout when ok, for stderr otherwise ("error: ...")
};

// One reply line as received. A line that is not a valid reply renders as an error.
rendered_reply render_reply(const std::string& reply_line);

// The parts, for tests and reuse.
std::string render_status_table(const nlohmann::json& rows);
std::string render_agents_table(const nlohmann::json& rows);
std::string render_help(const nlohmann::json& commands);
std::string render_fields(const nlohmann::json& object);  // "key: value" lines, keys aligned

// 950 -> "950ms", 75000 -> "1m15s", 7380000 -> "2h03m", 200000000 -> "2d07h".
std::string format_duration_ms(int64_t ms);

}  // namespace mercato::console
