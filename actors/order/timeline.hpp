// The order timeline (orders.order_timeline): every mutation of an order appends one event in the
// same transaction as the change, so the history is exactly what was committed.
#pragma once

#include <string>
#include <string_view>

#include <pqxx/pqxx>

namespace mercato::order {

// Appends an event; `event_type` matches ^[a-z_]{1,100}$ (CHECKed), `data_json` is a JSON object
// text ("" = {}). Returns the new event id.
std::string append_timeline(pqxx::work& tx, std::string_view order_id, std::string_view event_type,
                            std::string_view description, std::string_view data_json = {},
                            std::string_view triggered_by = "system");

}  // namespace mercato::order
