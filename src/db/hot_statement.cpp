#include "db/hot_statement.hpp"

#include <functional>

namespace mercato::db {

std::string hot_statement_name(std::string_view sql) {
  // std::hash (libstdc++: MurmurHash2, 8 bytes a step) rather than a byte-wise hash: the texts of
  // the shared statements are 2-4 KB and hashed on every call (FNV-1a was 1.8 % of the server's CPU
  // under the orders bench). Names only need to be stable within the process.
  const uint64_t h = std::hash<std::string_view>{}(sql);
  static constexpr char digits[] = "0123456789abcdef";
  std::string name = "hot_";
  name.resize(20);
  for (int i = 0; i < 16; ++i) name[4 + i] = digits[(h >> (60 - 4 * i)) & 0xf];
  return name;
}

}  // namespace mercato::db
