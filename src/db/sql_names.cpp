// Identifier checking (see sql_names.hpp).
#include "db/sql_names.hpp"

#include <algorithm>
#include <stdexcept>

namespace mercato::db {
namespace {

bool plain_identifier(std::string_view s) {
  auto lower = [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; };
  return !s.empty() && s.size() <= 63 && lower(s.front()) &&
         std::all_of(s.begin(), s.end(), [&](char c) { return lower(c) || (c >= '0' && c <= '9'); });
}

}  // namespace

std::string qualified_table(std::string_view schema, std::string_view table) {
  if (!plain_identifier(schema) || !plain_identifier(table))
    throw std::invalid_argument("invalid SQL identifier: " + std::string(schema) + "." +
                                std::string(table));
  return std::string(schema) + "." + std::string(table);
}

}  // namespace mercato::db
