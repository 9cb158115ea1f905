// Product search over attribute values (agents/8001-product.md attribute_definitions
// `is_searchable`): the texts a stored value is found by and the relevance of a match. Plain C++;
// the attribute model (attributes.hpp) keeps these texts per product and answers the catalogue's
// search_extension with them.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mercato::product {

struct attribute_definition;

// The lower-cased texts `value` is found by: text, select, color and date values as stored, the
// label of each chosen option ({value, label} options), every multiselect entry, numbers as written
// ("55", "2.5") with the definition's unit ("55 in"). Booleans have none (a bare true/false says
// nothing a shopper types).
std::vector<std::string> attribute_search_terms(const attribute_definition& def, const nlohmann::json& value);

// Relevance of the lower-cased query against one value's terms: 0 when no term contains it, else
// 1.2 (the base scores of search_score: description 1.0, brand 1.5, name 2.0) + half the trigram
// similarity of the best term, so a value equal to the query ranks above one that merely contains it.
double attribute_search_score(const std::string& query_lower, const std::vector<std::string>& terms);

}  // namespace mercato::product
