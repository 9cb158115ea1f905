// Appending to orders.order_timeline (see timeline.hpp).
#include "order/timeline.hpp"

#include "runtime/uuid.hpp"

namespace mercato::order {

std::string append_timeline(pqxx::work& tx, std::string_view order_id, std::string_view event_type,
                            std::string_view description, std::string_view data_json,
                            std::string_view triggered_by) {
  std::string id = uuid_v4();
  tx.exec_params(
      "INSERT INTO orders.order_timeline (event_id, order_id, event_type, event_description, "
      "event_data, triggered_by) VALUES ($1::uuid, $2::uuid, $3, $4, $5::jsonb, $6)",
      id, std::string{order_id}, std::string{event_type}, std::string{description},
      data_json.empty() ? std::string{"{}"} : std::string{data_json},
      triggered_by.empty() ? std::string{"system"} : std::string{triggered_by});
  return id;
}

}  // namespace mercato::order
