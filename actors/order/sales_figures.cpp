// Sales figures (see sales_figures.hpp): one statement per breakdown, all over the same window.
#include "order/sales_figures.hpp"

namespace mercato::order {
namespace {

constexpr const char* counted = "o.status NOT IN ('pending', 'cancelled')";

money::cents cents_of(const pqxx::field& f) { return money::parse_decimal(f.c_str()).value_or(0); }

}  // namespace

std::vector<product_sales> top_products(pqxx::work& tx, const std::string& start, const std::string& end,
                                        int64_t limit) {
  std::vector<product_sales> out;
  for (const auto& r : tx.exec_params(
           std::string{"SELECT i.product_id, max(i.product_name), sum(i.quantity), "
                       "sum(i.total_price - i.discount_amount)::text "
                       "FROM orders.orders o JOIN orders.order_items i ON i.order_id = o.order_id "
                       "WHERE o.created_at >= $1::timestamptz AND o.created_at < $2::timestamptz AND "} +
               counted +
               " GROUP BY i.product_id ORDER BY sum(i.total_price - i.discount_amount) DESC, i.product_id LIMIT $3",
           start, end, limit))
    out.push_back(product_sales{r[0].c_str(), r[1].c_str(), r[2].as<int64_t>(), cents_of(r[3])});
  return out;
}

sales_summary_reply summarize_sales(pqxx::work& tx, const std::string& from, const std::string& to) {
  // Unbounded sides become ±infinity; a bare date as the end means the whole day.
  // (decided here, not in a SQL CASE: the planner may fold a cast of '' and fail)
  std::string start = "-infinity", end = "infinity";
  if (!from.empty()) start = tx.exec_params1("SELECT $1::timestamptz::text", from)[0].c_str();
  if (to.size() == 10)
    end = tx.exec_params1("SELECT ($1::date + interval '1 day')::timestamptz::text", to)[0].c_str();
  else if (!to.empty())
    end = tx.exec_params1("SELECT $1::timestamptz::text", to)[0].c_str();
  const std::string window =
      std::string{" FROM orders.orders o WHERE o.created_at >= $1::timestamptz AND o.created_at < $2::timestamptz AND "} +
      counted;
  sales_summary_reply out;
  out.currency = store_currency;
  auto total = tx.exec_params1("SELECT count(*), coalesce(sum(o.total_amount - o.amount_refunded), 0)::text, "
                               "coalesce(min(o.currency), '')" + window,
                               start, end);
  out.orders = total[0].as<int64_t>();
  out.revenue = cents_of(total[1]);
  if (std::string c = total[2].c_str(); !c.empty()) out.currency = c;
  for (const auto& r : tx.exec_params(
           "SELECT to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') d, count(*), "
           "sum(o.total_amount - o.amount_refunded)::text" + window + " GROUP BY d ORDER BY d",
           start, end))
    out.by_day.push_back(sales_bucket{r[0].c_str(), r[1].as<int64_t>(), cents_of(r[2])});
  for (const auto& r : tx.exec_params(
           "SELECT o.channel, count(*), sum(o.total_amount - o.amount_refunded)::text" + window +
               " GROUP BY o.channel ORDER BY sum(o.total_amount - o.amount_refunded) DESC, o.channel",
           start, end))
    out.by_channel.push_back(sales_bucket{r[0].c_str(), r[1].as<int64_t>(), cents_of(r[2])});
  out.top_products = top_products(tx, start, end);
  return out;
}

}  // namespace mercato::order
