// Order analytics for the dashboard: /analytics/sales and /analytics/kpis. Revenue = Σ(total_amount −
// amount_refunded) of the orders created in the range and not pending/cancelled; growth compares with
// the previous range of equal length (null when that was 0); there is no visit data, so conversion
// figures are null.
#include "order/enhanced_concepts.hpp"

#include "order/enhanced_rules.hpp"
#include "order/sales_figures.hpp"

namespace mercato::order::enhanced {
namespace {

struct window {
  std::optional<int64_t> seconds;     // a named range ending now
  std::string start, end;             // or explicit bounds (timestamptz text; end exclusive)
};

struct period_figures {
  int64_t orders = 0;
  money::cents revenue = 0;
  money::cents aov() const { return orders == 0 ? 0 : (revenue * 2 + orders) / (2 * orders); }
};

// Reads time_range/timeRange or startDate+endDate (422 on anything else).
std::optional<window> read_range(input::query_reader& q, const char* default_range, bool allow_dates) {
  window w;
  if (allow_dates && (q.has("startDate") || q.has("endDate") || q.has("start_date") || q.has("end_date"))) {
    std::string_view s_key = q.first_present({"startDate", "start_date"});
    std::string_view e_key = q.first_present({"endDate", "end_date"});
    if (s_key.empty()) q.issue("startDate", "field required", "value_error.missing");
    if (e_key.empty()) q.issue("endDate", "field required", "value_error.missing");
    if (!q.ok()) return std::nullopt;
    w.start = *q.string(s_key, input::required, 1, 64);
    w.end = *q.string(e_key, input::required, 1, 64);
    return w;
  }
  std::string_view key = q.first_present({"time_range", "timeRange", "range"});
  std::string range = key.empty() ? default_range : q.string(key, input::required, 1, 10).value_or("");
  w.seconds = range_seconds(range);
  if (!w.seconds) {
    q.issue(key.empty() ? "timeRange" : key, "value is not a valid range (24h, 7d, 30d, 90d, 1y)", "type_error.enum");
    return std::nullopt;
  }
  return w;
}

// Turns the window into [start, end) timestamptz texts, refusing unparsable dates (422).
std::pair<std::string, std::string> bounds(pqxx::work& tx, const window& w) {
  if (w.seconds) {
    auto r = tx.exec_params1("SELECT (now() - make_interval(secs => $1))::text, now()::text", *w.seconds);
    return {r[0].c_str(), r[1].c_str()};
  }
  std::string start = timestamp_param(tx, w.start, {"query", "startDate"});
  std::string end = timestamp_param(tx, w.end, {"query", "endDate"});
  // A bare date as the end means the whole day.
  if (w.end.size() == 10) end = tx.exec_params1("SELECT ($1::timestamptz + interval '1 day')::text", end)[0].c_str();
  if (tx.exec_params1("SELECT $1::timestamptz >= $2::timestamptz", start, end)[0].as<bool>())
    refuse_field({"query", "endDate"}, "endDate must be after startDate");
  return {start, end};
}

// Figures of [start, end) and of the equally long range before it.
std::pair<period_figures, period_figures> figures(pqxx::work& tx, const std::string& start, const std::string& end) {
  auto r = tx.exec_params1(
      "SELECT count(*) FILTER (WHERE created_at >= $1::timestamptz), "
      "coalesce(sum(total_amount - amount_refunded) FILTER (WHERE created_at >= $1::timestamptz), 0)::text, "
      "count(*) FILTER (WHERE created_at < $1::timestamptz), "
      "coalesce(sum(total_amount - amount_refunded) FILTER (WHERE created_at < $1::timestamptz), 0)::text "
      "FROM orders.orders WHERE created_at >= $1::timestamptz - ($2::timestamptz - $1::timestamptz) "
      "AND created_at < $2::timestamptz AND status NOT IN ('pending', 'cancelled')",
      start, end);
  period_figures cur, prev;
  cur.orders = r[0].as<int64_t>();
  cur.revenue = money::parse_decimal(r[1].c_str()).value_or(0);
  prev.orders = r[2].as<int64_t>();
  prev.revenue = money::parse_decimal(r[3].c_str()).value_or(0);
  return {cur, prev};
}

json period_json(pqxx::work& tx, const std::string& start, const std::string& end) {
  auto r = tx.exec_params1("SELECT " + iso("$1::timestamptz") + ", " + iso("$2::timestamptz"), start, end);
  return json{{"start", r[0].c_str()}, {"end", r[1].c_str()}};
}

json growth(double current, double previous) {
  auto g = growth_percent(current, previous);
  return g ? json(*g) : json(nullptr);
}

void sales(const deps_ptr& deps, http::request_context& ctx) {
  input::query_reader q{ctx.request};
  auto w = read_range(q, "30d", true);
  if (!w) return ctx.respond(q.error_response());
  respond_from_db(deps, ctx, [w = *w](pqxx::work& tx) {
    auto [start, end] = bounds(tx, w);
    auto [cur, prev] = figures(tx, start, end);
    json top = json::array();
    for (const auto& p : top_products(tx, start, end))
      top.push_back(json{{"product_id", p.product_id},
                         {"name", p.name},
                         {"revenue", money::to_json(p.revenue)},
                         {"units", p.units}});
    json revenue = money::to_json(cur.revenue), aov = money::to_json(cur.aov());
    json body{{"total_revenue", revenue},
              {"total_orders", cur.orders},
              {"avg_order_value", aov},
              {"conversion_rate", nullptr},
              {"top_products", top},
              {"revenue", revenue},
              {"growth", growth(static_cast<double>(cur.revenue), static_cast<double>(prev.revenue))},
              {"orders", cur.orders},
              {"orderGrowth", growth(static_cast<double>(cur.orders), static_cast<double>(prev.orders))},
              {"aov", aov},
              {"aovGrowth", growth(static_cast<double>(cur.aov()), static_cast<double>(prev.aov()))},
              {"conversionRate", nullptr},
              {"conversionGrowth", nullptr},
              {"period", period_json(tx, start, end)}};
    return input::json_response(200, body);
  });
}

void kpis(const deps_ptr& deps, http::request_context& ctx) {
  input::query_reader q{ctx.request};
  auto w = read_range(q, "30d", false);
  if (!w) return ctx.respond(q.error_response());
  respond_from_db(deps, ctx, [w = *w](pqxx::work& tx) {
    auto [start, end] = bounds(tx, w);
    auto [cur, prev] = figures(tx, start, end);
    json body{{"totalSales", money::to_json(cur.revenue)},
              {"salesGrowth", growth(static_cast<double>(cur.revenue), static_cast<double>(prev.revenue))},
              {"totalOrders", cur.orders},
              {"ordersGrowth", growth(static_cast<double>(cur.orders), static_cast<double>(prev.orders))},
              {"averageOrderValue", money::to_json(cur.aov())},
              {"aovGrowth", growth(static_cast<double>(cur.aov()), static_cast<double>(prev.aov()))},
              {"conversionRate", nullptr},
              {"conversionGrowth", nullptr}};
    return input::json_response(200, body);
  });
}

}  // namespace

void add_analytics_routes(http::router& routes, const deps_ptr& deps) {
  for (const char* prefix : {"", "/api"}) {
    routes.add("GET", std::string{prefix} + "/analytics/sales", "Sales figures for a range",
               [deps](http::request_context& ctx) { sales(deps, ctx); });
    routes.add("GET", std::string{prefix} + "/analytics/kpis", "Dashboard KPIs for a range",
               [deps](http::request_context& ctx) { kpis(deps, ctx); });
  }
}

}  // namespace mercato::order::enhanced
