// Escaping text for HTML and XML (the API index page, the product sitemap): the five characters
// with a meaning in markup become entities, so text stays text in element content and in quoted
// attribute values alike.
#pragma once

#include <string>
#include <string_view>

namespace mercato {

std::string markup_escape(std::string_view text);

}  // namespace mercato
