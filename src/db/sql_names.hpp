// Checked SQL identifiers for the few places where a schema name cannot be a bind parameter.
#pragma once

#include <string>
#include <string_view>

namespace mercato::db {

// "<schema>.<table>" for names of [a-z_][a-z0-9_]* (the registry's); throws std::invalid_argument
// otherwise, so no caller-provided text ever reaches SQL as an identifier.
std::string qualified_table(std::string_view schema, std::string_view table);

}  // namespace mercato::db
