// Reading a POST /orders (and /orders/quote, typed place_order) body: every accepted form — items or
// lines, flat or nested shipping{} / payment{}, field aliases — folded into one place_request, with
// FastAPI-shaped issues (loc under "body") for anything invalid. Plain C++.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/json_input.hpp"
#include "order/order_model.hpp"

namespace mercato::order {

// `for_quote`: payment fields are ignored and customer_id is optional (guest cart).
place_request read_place_request(const nlohmann::json& body, input::issue_list& issues,
                                 bool for_quote = false);

// An address usable for shipping: country (ISO alpha-2), city, postal code, street; the missing
// parts are reported as issues at `loc`.
bool check_address(const nlohmann::json& address, std::vector<std::string> loc,
                   input::issue_list& issues);
// Country / region (state) / postal code of an address, whichever alias it uses.
std::string address_country(const nlohmann::json& address);
std::string address_region(const nlohmann::json& address);
std::string address_postal_code(const nlohmann::json& address);

}  // namespace mercato::order
