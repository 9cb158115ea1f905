// Prefix routing for the gateway port (see route_map.hpp).
#include "gateway/route_map.hpp"

#include "mercato/agent_directory.hpp"

namespace mercato {

route_map::route_map(const agent_directory& directory) {
  for (size_t i = 0; i < directory.size(); ++i)
    prefixes_.emplace(directory.at(i).spec().prefix, static_cast<int>(i));
}

std::optional<routed_path> route_map::by_prefix(std::string_view path) const {
  constexpr std::string_view api = "/api/";
  if (path.compare(0, api.size(), api) != 0) return std::nullopt;
  auto rest = path.substr(api.size());
  auto slash = rest.find('/');
  // The prefix is a whole segment, so /api/orderx never reaches "order".
  auto it = prefixes_.find(rest.substr(0, slash));
  if (it == prefixes_.end()) return std::nullopt;
  if (slash == std::string_view::npos) return routed_path{it->second, "/"};
  return routed_path{it->second, rest.substr(slash)};
}

}  // namespace mercato
