// ISO 8601 timestamps from REST input (expires_at): "2026-01-02T03:04:05Z", with optional
// fraction and ±HH:MM offset; a missing zone means UTC (what the legacy clients send).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace mercato::inventory {

std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

}  // namespace mercato::inventory
