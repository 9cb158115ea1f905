// NUL characters in request targets and JSON bodies (see nul_screen.hpp).
#include "http/nul_screen.hpp"

namespace mercato::http {

bool target_has_nul(std::string_view target) noexcept {
  for (size_t at = target.find('%'); at != std::string_view::npos; at = target.find('%', at + 1))
    if (at + 2 < target.size() && target[at + 1] == '0' && target[at + 2] == '0') return true;
  return false;
}

bool json_has_nul_escape(std::string_view body) noexcept {
  // In valid JSON a backslash only appears inside a string, where "\\" is one escaped backslash:
  // the 'u' starts an escape when an odd number of backslashes runs up to it.
  for (size_t at = body.find("\\u0000"); at != std::string_view::npos; at = body.find("\\u0000", at + 1)) {
    size_t run = 1;
    while (run <= at && body[at - run] == '\\') ++run;
    if (run % 2 == 1) return true;
  }
  return false;
}

}  // namespace mercato::http
