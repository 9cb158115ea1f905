// PostgreSQL array literals for `$n::text[]` / `$n::bigint[]` parameters: a list goes to the
// server as one bound value (parameterized, never spliced into SQL text).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mercato::db {

// {"a","b \"quoted\""}: every element double-quoted, '"' and '\' escaped.
std::string text_array(const std::vector<std::string>& items);
// {1,2,3}
std::string int_array(const std::vector<int64_t>& items);

}  // namespace mercato::db
