// Percent-decoding and query parsing (RFC 3986 §2.1, WHATWG urlencoded).
#include "http/url.hpp"

namespace mercato::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

template <class Visit>
void for_each_pair(std::string_view query, Visit&& visit) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto key = pair.substr(0, eq);
    auto value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (!visit(key, value)) return;
  }
}

}  // namespace

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;  // needs two hex digits after '%'
      int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

bool find_query_param(std::string_view query, std::string_view name, std::string& out) {
  bool found = false;
  std::string key;
  for_each_pair(query, [&](std::string_view k, std::string_view v) {
    if (!percent_decode(k, key, true) || key != name) return true;
    found = percent_decode(v, out, true);
    return !found;
  });
  return found;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> result;
  for_each_pair(query, [&](std::string_view k, std::string_view v) {
    std::string key, value;
    if (percent_decode(k, key, true) && percent_decode(v, value, true))
      result.emplace_back(std::move(key), std::move(value));
    return true;
  });
  return result;
}

}  // namespace mercato::http
