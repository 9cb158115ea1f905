// Crash recovery of the whole process: the real `mercato serve` binary, killed with SIGKILL while
// orders are being placed, then started again on the same database. Afterwards every order is
// confirmed or cancelled, stock and authorizations add up, and the customer statistics (fed by
// durable event consumers through the outbox) count every confirmed order exactly once — including
// the events that were published but not yet applied when the process died.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "db/database.hpp"
#include "support/db_fixture.hpp"
#include "server_fixture.hpp"  // json_body
#include "support/http_client.hpp"

using namespace mercato;
using namespace mercato::test;
using nlohmann::json;
using namespace std::chrono_literals;

extern char** environ;

namespace {

// A port nothing listens on right now, below the kernel's ephemeral range (32768 and up by
// default): the server binds it twice, at each start, and a port the kernel hands to outgoing
// connections (the test's own clients among them) could be taken in between.
uint16_t free_port() {
  std::mt19937 random{std::random_device{}()};
  std::uniform_int_distribution<int> pick{20000, 32000};
  for (int attempt = 0; attempt < 100; ++attempt) {
    const auto port = static_cast<uint16_t>(pick(random));
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (bound) return port;
  }
  FAIL("no free port in 20000-32000");
  return 0;
}

// `mercato serve` as a child process; SIGKILLed by kill(), SIGTERMed (and reaped) at the end.
class server_process {
 public:
  server_process(std::string config_path, std::string log_path)
      : config_(std::move(config_path)), log_(std::move(log_path)) {}
  ~server_process() { stop(); }
  void start() {
    // Everything the child needs is prepared before fork: it only redirects and execs.
    const std::string binary = MERCATO_BINARY;
    std::vector<std::string> args{binary, "serve", "--config", config_};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // The test's own DATABASE_URL and MERCATO_* settings would override the config file.
    std::vector<std::string> env_text;
    for (char** e = environ; *e; ++e) {
      std::string_view v{*e};
      if (v.rfind("DATABASE_URL=", 0) != 0 && v.rfind("MERCATO_", 0) != 0) env_text.emplace_back(v);
    }
    std::vector<char*> envp;
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);
    int out = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    REQUIRE(out >= 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(out);
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void kill() {
    REQUIRE(pid_ > 0);
    REQUIRE(::kill(pid_, SIGKILL) == 0);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    CHECK(WIFSIGNALED(status));
    pid_ = -1;
  }

 private:
  std::string config_;
  std::string log_;
  pid_t pid_ = -1;
};

json order_body(const std::string& customer) {
  return json{{"customer_id", customer},
              {"items", json::array({json{{"product_id", "PROD-003"}, {"quantity", 1}}})},
              {"payment_token", "tok_visa"}};
}

}  // namespace

TEST_CASE("SIGKILL of the whole process during placements: after a restart every order, stock "
          "level, authorization and customer statistic adds up",
          "[http][commerce][crash][process]") {
  migrated_database db;
  {
    database_config seed_cfg;
    seed_cfg.url = db.url();
    seed_cfg.seed_dir = source_dir() + "/db/seed";
    db::seed(seed_cfg);
  }
  char dir_template[] = "/tmp/mercato-kill.XXXXXX";
  REQUIRE(::mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  INFO("server log and config in " << dir);
  const uint16_t port = free_port();
  {
    std::ofstream cfg{dir + "/mercato.toml"};
    cfg << "[gateway]\nbind_address = \"127.0.0.1\"\nport = " << port << "\nlegacy_ports = false\n"
        << "[database]\nurl = \"" << db.url() << "\"\npool_size = 4\n"
        << "migrations_dir = \"" << migrations_dir() << "\"\n"  // ctest runs in the build tree
        << "[admin]\nsocket_path = \"" << dir << "/admin.sock\"\n"
        << "[log]\nlevel = \"warn\"\n";
  }
  server_process server{dir + "/mercato.toml", dir + "/server.log"};
  auto call = [port](const std::string& method, const std::string& target, const json& body = nullptr,
                     request_headers headers = {}) {
    if (!body.is_null()) headers.emplace_back("Content-Type", "application/json");
    return request(port, method, target, body.is_null() ? "" : body.dump(), headers);
  };
  auto ready = [&] {
    try {
      return call("GET", "/ready").status == 200;
    } catch (const std::exception&) {
      return false;
    }
  };
  auto available = [&] {
    auto r = call("GET", "/api/inventory/inventory/PROD-003/availability?quantity=1");
    REQUIRE(r.status == 200);
    return json_body(r)["data"]["total_available"].get<int64_t>();
  };
  const std::vector<std::string> customers{"CUST-001", "CUST-002", "CUST-003"};
  auto total_orders = [&] {
    std::map<std::string, int64_t> out;
    for (const auto& c : customers) {
      auto r = call("GET", "/api/customer/customers/" + c);
      REQUIRE(r.status == 200);
      out[c] = json_body(r)["total_orders"].get<int64_t>();
    }
    return out;
  };

  server.start();
  REQUIRE(eventually(ready, 20s));
  const int64_t stock_before = available();
  const auto orders_before = total_orders();

  // Four clients place orders until the process dies under them.
  std::atomic<int> answered{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        try {
          call("POST", "/api/order/orders", order_body(customers[(t + i) % customers.size()]),
               {{"Idempotency-Key", "kill-" + std::to_string(t) + "-" + std::to_string(i)}});
          ++answered;
        } catch (const std::exception&) {
          return;  // the connection died with the process: the saga decides that order's fate
        }
      }
    });
  }
  REQUIRE(eventually([&] { return answered >= 20; }, 30s));
  server.kill();
  stop = true;
  for (auto& c : clients) c.join();

  server.start();
  REQUIRE(eventually(ready, 20s));
  json orders;
  REQUIRE(eventually(
      [&] {
        auto r = call("GET", "/api/order/orders?limit=1000");
        if (r.status != 200) return false;
        orders = json_body(r);
        for (const auto& o : orders)
          if (o["status"] != "confirmed" && o["status"] != "cancelled") return false;
        return true;
      },
      60s));
  std::map<std::string, int64_t> confirmed_by_customer;
  int64_t confirmed = 0;
  for (const auto& o : orders)
    if (o["status"] == "confirmed") {
      ++confirmed;
      ++confirmed_by_customer[o["customer_id"].get<std::string>()];
    }
  CHECK(confirmed >= 20);
  CHECK(available() == stock_before - confirmed);
  auto payments = json_body(call("GET", "/api/payment/payments?limit=1000"));
  int64_t authorized = 0;
  for (const auto& p : payments)
    if (p["status"] == "authorized") ++authorized;
  CHECK(authorized == confirmed);
  // Each confirmed order counted once in its customer's statistics, none lost with the process.
  std::map<std::string, int64_t> expected;
  for (const auto& c : customers) expected[c] = orders_before.at(c) + confirmed_by_customer[c];
  CHECK(eventually([&] { return total_orders() == expected; }, 30s));
  CHECK(total_orders() == expected);
  // No item, timeline entry, saga step, payment or reservation left pointing at nothing.
  CHECK(db.orphan_references() == "");
  server.stop();
  std::filesystem::remove_all(dir);
}
