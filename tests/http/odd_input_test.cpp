// Odd input on every operation of the six order-to-cash agents, through the gateway, as a
// deterministic fuzz: each operation the agents' /openapi.json lists is called four times, with
// real ids of the right kind and then odd ones, odd queries, and for a body unknown fields only,
// then not an input at all (empty, malformed, an array), then the contracts' field names with odd
// values (wrong types, huge numbers, long strings, nesting), the later POSTs with an odd or a
// reused Idempotency-Key. Whatever the input, the answer is below 500; a refusal (4xx) has
// FastAPI's shape and a refused write leaves every table of the six schemas as it was; the
// database connections stay up, no agent restarts, and the stock and reference invariants hold. It found the empty order update (PUT /orders/{id} with only unknown fields bound
// two parameters to a one-parameter statement: the pool took the refusal for a lost connection and
// answered 503) and the NUL characters that libpq cut values at.
#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "commerce_server.hpp"
#include "prometheus_text.hpp"

using namespace mercato;
using namespace mercato::test;
using nlohmann::json;

namespace {

constexpr const char* agent_prefixes[] = {"order", "product", "inventory", "customer", "fraud", "payment"};

// Real ids by the kind a placeholder's name says, plus a pool of every id for the rest.
struct id_pool {
  std::vector<std::string> orders, products, customers, payments, warehouses, reservations, all;

  const std::vector<std::string>& for_placeholder(const std::string& name) const {
    if (name.find("order") != std::string::npos) return orders;
    if (name.find("product") != std::string::npos || name.find("sku") != std::string::npos) return products;
    if (name.find("customer") != std::string::npos) return customers;
    if (name.find("payment") != std::string::npos) return payments;
    if (name.find("warehouse") != std::string::npos) return warehouses;
    if (name.find("reservation") != std::string::npos) return reservations;
    return all;
  }
};

std::vector<std::string> column(const fresh_database& db, const std::string& sql) {
  std::vector<std::string> out;
  const auto text = db.value<std::string>("SELECT coalesce(string_agg(x, ' '), '') FROM (" + sql + ") s(x)");
  for (size_t at = 0; at < text.size();) {
    const auto end = std::min(text.find(' ', at), text.size());
    out.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

id_pool real_ids(const fresh_database& db) {
  id_pool ids;
  ids.orders = column(db, "SELECT order_id::text FROM orders.orders UNION ALL SELECT order_number FROM orders.orders");
  ids.products = column(db, "(SELECT product_id::text FROM catalog.products LIMIT 3) UNION ALL "
                            "(SELECT sku FROM catalog.products LIMIT 3)");
  ids.customers = column(db, "SELECT customer_id FROM customers.customer_profiles LIMIT 4");
  ids.payments = column(db, "SELECT payment_id::text FROM payments.payments LIMIT 4");
  ids.warehouses = column(db, "SELECT warehouse_id::text FROM inventory.warehouses LIMIT 2");
  ids.reservations = column(db, "SELECT reservation_id::text FROM inventory.reservations LIMIT 3");
  for (const auto* kind : {&ids.orders, &ids.products, &ids.customers, &ids.payments, &ids.warehouses, &ids.reservations})
    ids.all.insert(ids.all.end(), kind->begin(), kind->end());
  return ids;
}

const std::vector<std::string> odd_ids{"not-an-id", std::string(300, 'x'), "-1", "00000000-0000-0000-0000-000000000000",
                                       "%E2%82%AC", "a%20b"};
const std::vector<std::string> odd_queries{"", "?limit=-1", "?limit=abc&offset=-5", "?limit=100000000000000000000",
                                           "?page=0&page_size=0", "?status=bogus", "?sort=%3BDROP", "?q=%27%22",
                                           "?timeRange=zz", "?from=notadate&to=2020-13-45"};

// Bodies that are not an operation's input at all.
const std::vector<std::string> fixed_bodies{"{}", "{", "[]", "null", R"({"quantity":1e400})", "[[[[[[[[[[]]]]]]]]]]"};
const std::vector<std::string> fields{
    "quantity", "amount",   "status",    "reason",         "items",           "product_id",     "customer_id",
    "order_id", "sku",      "price",     "name",           "email",           "notes",          "tags",
    "tag",      "currency", "decision",  "payment_method", "shipping_address", "tracking_number", "carrier_code",
    "approve",  "reviewed_by", "refund_amount", "payment_token", "expires_in_seconds", "warehouse_id", "type"};

json odd_value(std::mt19937& rng, int depth) {
  const std::vector<json> scalars{0, -1, 1, 9223372036854775807LL, 1e300, -1e-300, 0.5, true, false, nullptr, "",
                                  std::string(3000, 'y'), "PROD-001", "CUST-001", "confirmed", "2020-02-30",
                                  "2026-11-26T00:00:00Z", "<script>", "'; DROP TABLE x;--", "\xc3\xa9\xe2\x82\xac"};
  const auto pick = rng() % 10;
  if (depth < 3 && pick == 0) {
    json a = json::array();
    for (unsigned i = rng() % 4; i > 0; --i) a.push_back(odd_value(rng, depth + 1));
    return a;
  }
  if (depth < 3 && pick == 1) {
    json o = json::object();
    for (unsigned i = rng() % 4; i > 0; --i) o[fields[rng() % fields.size()]] = odd_value(rng, depth + 1);
    return o;
  }
  return scalars[rng() % scalars.size()];
}

// Trial 0: unknown fields only; trial 1: one of fixed_bodies; later: fields of the vocabulary
// with odd values.
std::string odd_body(std::mt19937& rng, size_t trial) {
  if (trial == 0) return R"({"colour":"red"})";
  if (trial == 1) return fixed_bodies[rng() % fixed_bodies.size()];
  json o = json::object();
  for (unsigned i = 1 + rng() % 6; i > 0; --i) o[fields[rng() % fields.size()]] = odd_value(rng, 0);
  return o.dump();
}

// Trial 2: an odd key (empty, 256 characters, a space, a tab, non-ASCII: all but the space refused);
// trial 3: one key shared by every POST of the run, so that an agent sees it again with another
// body or on another endpoint (422) after it was first used.
std::string odd_key(std::mt19937& rng, size_t trial) {
  const std::vector<std::string> bad{"", std::string(256, 'k'), "two words", "tab\there", "caf\xc3\xa9"};
  return trial == 2 ? bad[rng() % bad.size()] : "fuzz-shared-key";
}

// `pattern` with each {placeholder} replaced: a real id of its kind on the first trials, an odd one after.
std::string fill(const std::string& pattern, const id_pool& ids, std::mt19937& rng, bool real) {
  std::string out;
  for (size_t at = 0; at < pattern.size();) {
    const auto open = pattern.find('{', at);
    if (open == std::string::npos) {
      out += pattern.substr(at);
      break;
    }
    const auto close = pattern.find('}', open);
    out += pattern.substr(at, open - at);
    const auto& pool = real ? ids.for_placeholder(pattern.substr(open + 1, close - open - 1)) : odd_ids;
    out += pool.empty() ? odd_ids[0] : pool[rng() % pool.size()];
    at = close + 1;
  }
  return out;
}

// FastAPI's error shape: {"detail": "text"} or {"detail": [{"loc": [...], "msg": "...", "type": "..."}]}.
bool fastapi_error_shape(const std::string& body) {
  const auto j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("detail")) return false;
  const auto& detail = j["detail"];
  if (detail.is_string()) return !detail.get<std::string>().empty();
  if (!detail.is_array() || detail.empty()) return false;
  return std::all_of(detail.begin(), detail.end(), [](const json& e) {
    return e.is_object() && e.contains("loc") && e["loc"].is_array() && e.contains("msg") && e["msg"].is_string() &&
           e.contains("type") && e["type"].is_string();
  });
}

// Every table of the six agents' schemas as "schema.table" -> "rows:hash of the rows' text": two
// equal snapshots mean no row was inserted, changed or deleted in between.
class table_snapshots {
 public:
  explicit table_snapshots(const fresh_database& db) : db_(db) {
    const auto tables = column(db, "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                                   "WHERE table_type = 'BASE TABLE' AND table_schema IN "
                                   "('orders', 'catalog', 'inventory', 'customers', 'fraud', 'payments') ORDER BY 1");
    tables_ = tables.size();
    for (const auto& t : tables) {
      if (!sql_.empty()) sql_ += " UNION ALL ";
      sql_ += "SELECT '" + t + "=' || count(*) || ':' || coalesce(sum(hashtext(x::text)::bigint), 0) FROM " + t + " x";
    }
  }
  size_t tables() const { return tables_; }

  std::map<std::string, std::string> take() const {
    std::map<std::string, std::string> out;
    for (const auto& entry : column(db_, sql_)) {
      const auto eq = entry.find('=');
      out[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    return out;
  }
  // After a call that was allowed to write: its events reach their consumers asynchronously, so
  // wait until the outboxes are empty and two snapshots 50 ms apart agree.
  std::map<std::string, std::string> settled() const {
    auto last = take();
    for (int i = 0; i < 100; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      auto now = take();
      const bool outboxes_empty = std::all_of(now.begin(), now.end(), [](const auto& kv) {
        return kv.first.find(".outbox") == std::string::npos || kv.second.rfind("0:", 0) == 0;
      });
      if (now == last && outboxes_empty) return now;
      last = std::move(now);
    }
    return last;
  }

 private:
  const fresh_database& db_;
  std::string sql_;
  size_t tables_ = 0;
};

// The tables whose state differs, but for `skip_keys`: a refusal of a request that carried an
// Idempotency-Key may store that key with its answer (the payment contract: "same key + same body
// => stored first response (any status)"), so that a retry gets the same refusal.
std::string changed_tables(const std::map<std::string, std::string>& before,
                           const std::map<std::string, std::string>& after, bool skip_keys = false) {
  std::string out;
  for (const auto& [table, state] : after) {
    if (skip_keys && table.size() > 17 && table.compare(table.size() - 17, 17, ".idempotency_keys") == 0) continue;
    const auto it = before.find(table);
    if (it == before.end() || it->second != state)
      out += " " + table + " (" + (it == before.end() ? "new" : it->second) + " -> " + state + ")";
  }
  return out;
}

}  // namespace

TEST_CASE("odd input on every operation of the six agents: no 5xx, refused writes change nothing", "[http][fuzz]") {
  // A slow machine must not turn a slow answer into a 504 the test would count.
  commerce_server s{[](config& c) { c.gateway.request_timeout = std::chrono::seconds(30); }};
  for (int i = 1; i <= 3; ++i)
    REQUIRE(s.call("order", "POST", "/orders", order_body("CUST-00" + std::to_string(i), "PROD-00" + std::to_string(i), 1))
                .status == 201);
  const auto ids = real_ids(s.db);
  REQUIRE(ids.orders.size() >= 6);
  REQUIRE(ids.payments.size() >= 3);

  const table_snapshots snapshots{s.db};
  REQUIRE(snapshots.tables() >= 40);
  auto before = snapshots.settled();
  {  // the snapshots see a one-column change of one row, and its undoing
    s.db.exec("UPDATE catalog.products SET name = name || '!' WHERE sku = 'PROD-001'");
    const auto changed = snapshots.take();
    CHECK(changed_tables(before, changed) != "");
    s.db.exec("UPDATE catalog.products SET name = left(name, -1) WHERE sku = 'PROD-001'");
    CHECK(snapshots.take() == before);
  }

  std::mt19937 rng{20261126};
  std::vector<std::string> failures;
  std::map<int, size_t> statuses;
  size_t sent = 0, operations = 0, refused_writes = 0;
  constexpr size_t trials = 4;
  for (const auto* prefix : agent_prefixes) {
    const auto spec = json_body(s.gateway("GET", std::string("/api/") + prefix + "/openapi.json"));
    for (const auto& [path, methods] : spec.at("paths").items()) {
      for (const auto& [method_lower, operation] : methods.items()) {
        std::string method = method_lower;
        std::transform(method.begin(), method.end(), method.begin(), ::toupper);
        ++operations;
        for (size_t trial = 0; trial < trials; ++trial) {
          const auto target = std::string("/api/") + prefix + fill(path, ids, rng, trial + 1 < trials) +
                              odd_queries[rng() % odd_queries.size()];
          const bool has_body = method == "POST" || method == "PUT" || method == "PATCH";
          const auto body = has_body ? odd_body(rng, trial) : std::string{};
          request_headers headers;
          if (has_body) headers.emplace_back("Content-Type", "application/json");
          const bool with_key = method == "POST" && trial >= 2;
          if (with_key) headers.emplace_back("Idempotency-Key", odd_key(rng, trial));
          http_connection connection{s.server->gateway_port(), std::chrono::seconds(60)};
          const auto r = connection.request(method, target, body, headers);
          ++sent;
          ++statuses[r.status];
          const auto call = method + " " + target + " " + body.substr(0, 200) + " -> " + std::to_string(r.status) +
                            " " + r.body.substr(0, 200);
          if (r.status < 100 || r.status >= 500) failures.push_back(call);
          if (r.status >= 400 && r.status < 500 && !fastapi_error_shape(r.body))
            failures.push_back("not FastAPI's error shape: " + call);
          // Reads are not fingerprinted: a one-off run that did (session 27) found none writing,
          // and it took 15 s more.
          if (method == "GET") continue;
          if (r.status >= 400 && r.status < 500) {
            ++refused_writes;
            auto after = snapshots.take();
            const auto changed = changed_tables(before, after, with_key);
            if (!changed.empty()) failures.push_back("a refusal wrote:" + changed + ": " + call);
            before = std::move(after);
          } else {
            before = snapshots.settled();
          }
        }
      }
    }
  }
  std::string by_status;
  for (const auto& [status, n] : statuses) by_status += " " + std::to_string(status) + ":" + std::to_string(n);
  INFO("operations " << operations << ", requests " << sent << ", refused writes checked " << refused_writes
                     << ", answers by status" << by_status);
  CHECK(operations >= 200);  // the six agents' contracts: 231 operations when this was written
  CHECK(refused_writes >= 300);  // most odd writes are refused: each was checked for rows it changed
  std::string listed;
  for (const auto& f : failures) listed += f + "\n";
  INFO(listed);
  CHECK(failures.empty());

  // Nothing broke underneath: connections up, no agent restarted, stock and references consistent.
  const auto metrics = parse_prometheus(s.gateway("GET", "/metrics").body);
  CHECK(metrics.value("mercato_db_pool_connected") == 4);
  for (const auto* agent : {"order", "product", "inventory", "customer", "fraud_detection", "payment"})
    for (const auto* reason : {"crash", "hang"})
      CHECK(metrics.value("mercato_agent_restarts_total", {{"agent", agent}, {"reason", reason}}) == 0);
  CHECK(s.db.value<int64_t>("SELECT count(*) FROM inventory.stock_levels WHERE quantity < 0 OR reserved_quantity < 0 "
                            "OR available_quantity < 0") == 0);
  CHECK(s.db.value<int64_t>(
            "SELECT count(*) FROM inventory.stock_levels s WHERE s.reserved_quantity <> coalesce((SELECT sum(r.quantity) "
            "FROM inventory.reservations r WHERE r.product_id = s.product_id AND r.warehouse_id = s.warehouse_id "
            "AND r.status IN ('active', 'confirmed')), 0)") == 0);
  CHECK(s.db.orphan_references() == "");
}

// The gateway sends a GET or HEAD held by a crashed agent once more (resend_policy), which is only
// safe while no GET route writes. Rather than fingerprint every table around every read (15 s),
// the server is restarted over the same database made read-only for new sessions: a GET route
// that wrote would get PostgreSQL's refusal (25006) and answer 5xx. Every GET operation of the six
// agents' /openapi.json is called with real ids and a few queries.
TEST_CASE("every GET of the six agents answers from a read-only database: reads write nothing", "[http][fuzz]") {
  commerce_server s{[](config& c) { c.gateway.request_timeout = std::chrono::seconds(30); }};
  for (int i = 1; i <= 3; ++i)
    REQUIRE(s.call("order", "POST", "/orders", order_body("CUST-00" + std::to_string(i), "PROD-00" + std::to_string(i), 1))
                .status == 201);
  s.server.reset();
  s.db.exec("ALTER DATABASE \"" + s.db.name() + "\" SET default_transaction_read_only = on");
  REQUIRE(s.db.value<std::string>("SHOW default_transaction_read_only") == "on");
  s.server = std::make_unique<test_server>([&s](config& c) {
    c.database.url = s.db.url();
    c.database.migrations_dir = migrations_dir();
    c.database.auto_migrate = false;  // its CREATE TABLE IF NOT EXISTS would be refused
    c.database.pool_size = 4;
    c.gateway.request_timeout = std::chrono::seconds(30);
  });
  {  // the check can fail: a write through the server is refused now
    const auto refused = s.call("order", "POST", "/orders", order_body("CUST-001", "PROD-001", 1));
    CHECK(refused.status >= 500);
  }
  const auto ids = real_ids(s.db);
  REQUIRE(ids.orders.size() >= 6);

  std::mt19937 rng{20261126};
  // The query parameters the six agents' handlers read most (paging, filters, dates, flags),
  // so that a write behind a parameter's branch is reached too.
  const std::vector<std::string> queries{"",
                                         "?limit=5",
                                         "?status=confirmed",
                                         "?timeRange=7d",
                                         "?page=2&limit=3&per_page=3&skip=1",
                                         "?include_inactive=true&include_subcategories=true&active_only=false",
                                         "?search=a&q=a&sortBy=created_at&sortDirection=asc&sort=created_at",
                                         "?startDate=2020-01-01&endDate=2099-01-01&start_date=2020-01-01"
                                         "&end_date=2099-01-01&days=30&range=30d&dateRange=30d"};
  std::vector<std::string> failures;
  size_t operations = 0, sent = 0, answered_200 = 0;
  for (const auto* prefix : agent_prefixes) {
    const auto spec = json_body(s.gateway("GET", std::string("/api/") + prefix + "/openapi.json"));
    for (const auto& [path, methods] : spec.at("paths").items()) {
      if (!methods.contains("get")) continue;
      ++operations;
      for (const auto& query : queries) {
        const auto target = std::string("/api/") + prefix + fill(path, ids, rng, true) + query;
        for (const auto* method : {"GET", "HEAD"}) {
          http_connection connection{s.server->gateway_port(), std::chrono::seconds(60)};
          const auto r = connection.request(method, target);
          ++sent;
          if (r.status == 200) ++answered_200;
          if (r.status < 100 || r.status >= 500)
            failures.push_back(std::string(method) + " " + target + " -> " + std::to_string(r.status) + " " +
                               r.body.substr(0, 200));
        }
      }
    }
  }
  INFO("GET operations " << operations << ", requests " << sent << ", answered 200: " << answered_200);
  CHECK(operations >= 60);
  CHECK(answered_200 >= sent / 2);  // real ids: most reads find what they ask for
  std::string listed;
  for (const auto& f : failures) listed += f + "\n";
  INFO(listed);
  CHECK(failures.empty());
}
