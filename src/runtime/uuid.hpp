// Random (version 4) UUIDs, the id format of every entity and event (DESIGN.md §3).
#pragma once

#include <string>

namespace mercato {

std::string uuid_v4();

}  // namespace mercato
