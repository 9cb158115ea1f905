#include "domain/markup_escape.hpp"

namespace mercato {

std::string markup_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;  // &apos; is XML and HTML5 only; &#39; is both everywhere
      default: out += c;
    }
  }
  return out;
}

}  // namespace mercato
