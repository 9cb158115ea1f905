// The typed read side for other agents: list_orders_query (the filters of GET /orders through the
// store's list_orders / count_orders) and sales_summary (sales_figures.hpp, shared with the
// dashboard analytics).
#include "order/order_agent_state.hpp"
#include "order/order_status.hpp"
#include "order/sales_figures.hpp"
#include "runtime/db_call.hpp"

namespace mercato::order {
namespace {

caf::error invalid_field(const std::string& field, const std::string& msg) {
  nlohmann::json list = nlohmann::json::array({{{"loc", {field}}, {"msg", msg}, {"type", "value_error"}}});
  return make_failure(failure_kind::invalid, "invalid", msg, list.dump());
}

}  // namespace

caf::result<order_list> answer_list_orders(order_self self, list_orders_query msg) {
  const auto& f = msg.filter;
  for (const auto& s : f.statuses)
    if (!is_order_status(s)) return invalid_field("status", "Unknown order status '" + s + "'");
  if (f.sort_by != "created_at" && f.sort_by != "total_amount" && f.sort_by != "status" && f.sort_by != "order_number")
    return invalid_field("sort_by", "Unknown sort field '" + f.sort_by + "'");
  if (f.skip < 0) return invalid_field("skip", "ensure this value is greater than or equal to 0");
  if (f.limit < 1 || f.limit > 1000) return invalid_field("limit", "ensure this value is between 1 and 1000");
  auto rp = self->make_response_promise<order_list>();
  struct page_t {
    std::vector<order_record> orders;
    int64_t total = 0;
  };
  db_transact<page_t>(
      self, *self->state.ctx.database,
      [f](pqxx::work& tx) { return page_t{list_orders(tx, f), count_orders(tx, f)}; },
      [rp](db::outcome<page_t> r) mutable {
        if (!r.ok()) { rp.deliver(make_failure(db_failure(*r.failure))); return; }
        order_list out;
        out.total = r.value->total;
        out.orders.reserve(r.value->orders.size());
        for (const auto& o : r.value->orders) out.orders.push_back(to_order_view(o));
        rp.deliver(std::move(out));
      });
  return rp;
}

caf::result<sales_summary_reply> answer_sales_summary(order_self self, sales_summary msg) {
  if (msg.group_by != "day") return invalid_field("group_by", "group_by must be 'day'");
  auto rp = self->make_response_promise<sales_summary_reply>();
  db_transact<sales_summary_reply>(
      self, *self->state.ctx.database,
      [msg](pqxx::work& tx) { return summarize_sales(tx, msg.from, msg.to); },
      [rp](db::outcome<sales_summary_reply> r) mutable {
        if (!r.ok()) { rp.deliver(make_failure(db_failure(*r.failure))); return; }
        rp.deliver(std::move(*r.value));
      });
  return rp;
}

}  // namespace mercato::order
