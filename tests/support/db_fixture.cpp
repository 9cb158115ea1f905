// The db suite's fixture (see db_fixture.hpp): per-test databases on the server named by
// DATABASE_URL, URL rewriting for libpq key=value strings and URIs, polling helpers.
#include "support/db_fixture.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <pqxx/result>
#include <pqxx/transaction>

#include "db/migrations.hpp"

#ifndef MERCATO_SOURCE_DIR
#error "MERCATO_SOURCE_DIR must name the repository root (tests/CMakeLists.txt)"
#endif

namespace mercato::test {
namespace {

bool is_uri(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

// The query string without its dbname parameters (in a URI they would override the path).
std::string without_dbname_params(const std::string& query) {
  std::string kept;
  size_t start = 0;
  while (start <= query.size()) {
    auto end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    auto param = query.substr(start, end - start);
    if (!param.empty() && param.rfind("dbname=", 0) != 0) {
      if (!kept.empty()) kept += '&';
      kept += param;
    }
    start = end + 1;
  }
  return kept;
}

void drop_database(const std::string& admin_url, const std::string& name) {
  pqxx::connection admin{admin_url};
  pqxx::nontransaction tx{admin};
  tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name) + " WITH (FORCE)");
}

}  // namespace

std::string database_url() {
  const char* url = std::getenv("DATABASE_URL");
  if (url == nullptr || *url == '\0') FAIL("DATABASE_URL is not set: run scripts/test.sh");
  return url;
}

std::string url_with_dbname(const std::string& base, const std::string& name) {
  if (!is_uri(base)) return base + " dbname=" + name;  // libpq: the later keyword wins
  const auto authority = base.find("://") + 3;
  const auto path = base.find_first_of("/?#", authority);
  const std::string head = base.substr(0, path == std::string::npos ? base.size() : path);
  std::string query, fragment;
  if (path != std::string::npos) {
    const auto q = base.find('?', path);
    const auto f = base.find('#', path);
    if (q != std::string::npos) query = base.substr(q + 1, (f == std::string::npos ? base.size() : f) - q - 1);
    if (f != std::string::npos) fragment = base.substr(f);
  }
  query = without_dbname_params(query);
  return head + "/" + name + (query.empty() ? "" : "?" + query) + fragment;
}

std::string source_dir() { return MERCATO_SOURCE_DIR; }
std::string migrations_dir() { return source_dir() + "/db/migrations"; }

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

bool arrive_and_wait(std::atomic<int>& arrived, int n, std::chrono::milliseconds timeout) {
  ++arrived;
  // Spins (yielding) rather than polling with sleeps, so that the threads leave together.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (arrived.load() < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

fresh_database::fresh_database() : fresh_database(std::string{}) {}

fresh_database::fresh_database(const std::string& template_name) : admin_url_(database_url()) {
  static std::atomic<unsigned> counter{0};
  name_ = fmt::format("mercato_test_{}_{}", ::getpid(), counter++);
  url_ = url_with_dbname(admin_url_, name_);
  drop_database(admin_url_, name_);  // a leftover of a killed run with a reused pid
  pqxx::connection admin{admin_url_};
  pqxx::nontransaction tx{admin};
  tx.exec("CREATE DATABASE " + tx.quote_name(name_) +
          (template_name.empty() ? "" : " TEMPLATE " + tx.quote_name(template_name)));
}

fresh_database::~fresh_database() {
  try {
    drop_database(admin_url_, name_);
  } catch (const std::exception& e) {
    std::cerr << "db_fixture: could not drop database " << name_ << ": " << e.what() << '\n';
  }
}

std::unique_ptr<pqxx::connection> fresh_database::connect() const {
  return std::make_unique<pqxx::connection>(url_);
}

void fresh_database::exec(const std::string& sql) const {
  auto c = connect();
  pqxx::work tx{*c};
  tx.exec(sql);
  tx.commit();
}

db::pool_settings fresh_database::pool_settings(size_t connections) const {
  db::pool_settings s;
  s.url = url_;
  s.connections = connections;
  s.reconnect_min = std::chrono::milliseconds(20);
  s.reconnect_max = std::chrono::milliseconds(200);
  return s;
}

bool fresh_database::wait_for_sessions(size_t n, std::chrono::milliseconds timeout) const {
  auto c = connect();
  return eventually(
      [&] {
        pqxx::nontransaction tx{*c};
        auto count = tx.exec1(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()")[0].as<size_t>();
        return count == n;
      },
      timeout);
}

std::string fresh_database::orphan_references() const {
  auto c = connect();
  pqxx::nontransaction tx{*c};
  std::string out;
  for (const auto& r : tx.exec("SELECT reference, orphans, array_to_string(examples, ', ')"
                               " FROM mercato.orphan_references() WHERE orphans > 0"))
    out += fmt::format("{}: {} orphan(s) [{}]; ", r[0].c_str(), r[1].c_str(), r[2].c_str());
  return out;
}

namespace {

// Migrating every test's database from scratch costs more than the test itself once the domain
// agents' migrations exist, so each test process migrates one template database (on first use)
// and every migrated_database is a copy of it (CREATE DATABASE … TEMPLATE, a file copy).
class migrated_template {
 public:
  static const std::string& name() {
    static migrated_template instance;
    return instance.name_;
  }

 private:
  migrated_template() : admin_url_(database_url()) {
    name_ = fmt::format("mercato_tpl_{}", ::getpid());
    drop_database(admin_url_, name_);
    {
      pqxx::connection admin{admin_url_};
      pqxx::nontransaction tx{admin};
      tx.exec("CREATE DATABASE " + tx.quote_name(name_));
    }
    pqxx::connection c{url_with_dbname(admin_url_, name_)};
    db::apply_migrations(c, db::load_migrations(migrations_dir()));
  }  // the connection closes here: a template must have no sessions when it is copied
  ~migrated_template() {
    try {
      drop_database(admin_url_, name_);
    } catch (const std::exception& e) {
      std::cerr << "db_fixture: could not drop template " << name_ << ": " << e.what() << '\n';
    }
  }
  std::string admin_url_;
  std::string name_;
};

}  // namespace

migrated_database::migrated_database() : fresh_database(migrated_template::name()) {}

void start_pool(db::pool& pool) {
  pool.start();
  REQUIRE(eventually([&] { return pool.connected(); }));
}

}  // namespace mercato::test
