// NUL characters in requests. PostgreSQL's text cannot hold U+0000, and libpq sends parameters as
// C strings, so a NUL reaching SQL would cut a value short: a filter "Apparel%00x" would read as
// "Apparel" and a name "A\u0000B" would be stored as "A", silently. The gateway refuses both at
// the door (400 for the target, 422 for the body) instead of trusting every reader to.
#pragma once

#include <string_view>

namespace mercato::http {

// True when the request target (path and query) carries a percent-encoded NUL ("%00").
bool target_has_nul(std::string_view target) noexcept;

// True when the JSON text `body` holds a \u0000 escape (a raw NUL byte is not valid JSON and is
// refused by every parser anyway). An escaped backslash followed by "u0000" is literal text, not
// an escape, and does not count.
bool json_has_nul_escape(std::string_view body) noexcept;

}  // namespace mercato::http
