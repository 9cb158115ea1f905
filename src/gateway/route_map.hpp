// Where a request goes: by listener (legacy port 80NN → agent NN) or, on the gateway port, by the
// path prefix /api/<prefix>/... (prefix removed). Plain C++, unit-tested.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mercato {

class agent_directory;

struct routed_path {
  int agent_index;             // index in the directory
  std::string_view agent_path; // what the agent sees: "/orders/42" ("/" for the bare prefix)
};

class route_map {
 public:
  explicit route_map(const agent_directory& directory);

  // "/api/order/orders?x" is split before this: `path` has no query. nullopt when the path does
  // not start with /api/<known prefix> followed by '/' or the end.
  std::optional<routed_path> by_prefix(std::string_view path) const;

 private:
  std::unordered_map<std::string_view, int> prefixes_;
};

}  // namespace mercato
