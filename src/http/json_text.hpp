// Minimal JSON text helpers for hot paths that build small bodies with fmt instead of a DOM.
#pragma once

#include <string>
#include <string_view>

namespace mercato::http {

// Appends `s` as a quoted, escaped JSON string.
void append_json_string(std::string& out, std::string_view s);
std::string json_string(std::string_view s);

}  // namespace mercato::http
