// The one clock helper: ISO 8601 UTC timestamps (DESIGN.md §3: times are ISO 8601 UTC).
#pragma once

#include <chrono>
#include <string>

namespace mercato::clock {

std::string iso8601(std::chrono::system_clock::time_point t);
inline std::string iso8601_now() { return iso8601(std::chrono::system_clock::now()); }

}  // namespace mercato::clock
