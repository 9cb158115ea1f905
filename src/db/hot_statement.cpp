#include "db/hot_statement.hpp"

namespace mercato::db {

std::string hot_statement_name(std::string_view sql) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a offset basis
  for (unsigned char c : sql) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string name = "hot_";
  for (int shift = 60; shift >= 0; shift -= 4) name += digits[(h >> shift) & 0xf];
  return name;
}

}  // namespace mercato::db
