// URL pieces: percent-decoding and query-string look-up (application/x-www-form-urlencoded).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mercato::http {

// Decodes %XX and, when `plus_is_space`, '+' to ' '. Returns false on a malformed escape.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space);

// Finds the first `name` in `query` ("a=1&b=2") and decodes its value into `out`.
bool find_query_param(std::string_view query, std::string_view name, std::string& out);

// All decoded pairs, in order (malformed pairs are skipped).
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);

}  // namespace mercato::http
