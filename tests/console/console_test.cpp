// The admin console end to end: a real server in-process, commands sent over its Unix socket with
// the same client function `mercato console` uses, replies checked as JSON and as rendered text.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "app/server_app.hpp"
#include "console/admin_server.hpp"
#include "console/console_client.hpp"
#include "console/console_format.hpp"
#include "log/log.hpp"
#include "mercato/agent_spec.hpp"

namespace {

using namespace mercato;
using nlohmann::json;
using namespace std::chrono_literals;

// A socket path in a fresh directory (the server must create it), short enough for sun_path;
// the directory is removed at the end.
struct temp_socket_path {
  std::filesystem::path path;
  temp_socket_path() {
    static std::atomic<int> counter{0};
    path = std::filesystem::temp_directory_path() /
           ("mercato-console-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)) /
           "admin.sock";
  }
  ~temp_socket_path() { std::filesystem::remove_all(path.parent_path()); }
  std::string str() const { return path.string(); }
};

json send(const std::string& socket_path, const std::string& line) {
  return json::parse(send_admin_command(socket_path, line));
}

// Polls `condition` until it holds or `limit` passes; restarts are asynchronous.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = 5s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// The whole server (26 agents, no legacy ports, gateway on an ephemeral port, fault injection on),
// waited for on a thread and shut down at the end of the test.
class running_server {
 public:
  explicit running_server(const std::function<void(config&)>& adjust = {}) {
    config cfg;
    cfg.gateway.port = 0;
    cfg.gateway.legacy_ports = false;
    cfg.admin.socket_path = socket_path_.str();
    cfg.admin.fault_injection = true;
    if (adjust) adjust(cfg);
    app_ = std::make_unique<server_app>(std::move(cfg));
    app_->start();
    waiter_ = std::thread([this] {
      exit_code_ = app_->wait();
      finished_ = true;
    });
  }
  ~running_server() {
    app_->request_shutdown();
    waiter_.join();
  }
  running_server(const running_server&) = delete;
  running_server& operator=(const running_server&) = delete;

  std::string socket_path() const { return socket_path_.str(); }
  bool finished() const { return finished_; }
  int exit_code() const { return exit_code_; }
  json command(const std::string& line) const { return send(socket_path(), line); }

  // The result of a command that must succeed.
  json result(const std::string& line) const {
    json reply = command(line);
    INFO(line << " -> " << reply.dump());
    REQUIRE(reply.at("ok") == true);
    return reply.at("result");
  }

  json status_of(const std::string& agent) const {
    for (const json& row : result("status"))
      if (row.at("agent") == agent) return row;
    FAIL("no status row for " << agent);
    return {};
  }

 private:
  temp_socket_path socket_path_;
  std::unique_ptr<server_app> app_;
  std::thread waiter_;
  std::atomic<int> exit_code_{-1};
  std::atomic<bool> finished_{false};
};

// admin_server alone on its own io_context, without a supervisor: for the socket's life cycle.
class standalone_admin {
 public:
  explicit standalone_admin(const std::string& path) : server_(io_, path, admin_dependencies{}) {
    server_.start();
    runner_ = std::thread([this] { io_.run(); });
  }
  ~standalone_admin() {
    server_.stop();
    io_.stop();
    runner_.join();
  }
  admin_server& server() { return server_; }

 private:
  boost::asio::io_context io_;
  admin_server server_;
  std::thread runner_;
};

// Restores the process-wide log level the console test changes.
struct log_level_guard {
  log::level saved = log::current_level();
  ~log_level_guard() { log::set_level(saved); }
};

}  // namespace

TEST_CASE("status lists all 26 agents, each running", "[console]") {
  running_server server;
  json rows = server.result("status");
  REQUIRE(rows.size() == agent_registry().size());
  REQUIRE(rows.size() == 26);
  for (const agent_spec& spec : agent_registry()) {
    INFO(spec.name);
    auto row = std::find_if(rows.begin(), rows.end(),
                            [&](const json& r) { return r.at("agent") == spec.name; });
    REQUIRE(row != rows.end());
    CHECK(row->at("state") == "running");
    CHECK(row->at("port").is_null());  // legacy ports are off
    CHECK(row->at("prefix") == spec.prefix);
  }
}

TEST_CASE("the admin socket is private to the server's user (0600)", "[console]") {
  running_server server;
  struct stat st {};
  REQUIRE(::stat(server.socket_path().c_str(), &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((st.st_mode & 07777) == 0600);
}

TEST_CASE("restart order starts a new incarnation", "[console]") {
  running_server server;
  json before = server.status_of("order");

  json reply = server.command("restart order console test");
  INFO(reply.dump());
  REQUIRE(reply.at("ok") == true);
  CHECK(reply.at("command") == "restart");

  json after;
  CHECK(eventually([&] {
    after = server.status_of("order");
    return after.at("state") == "running" &&
           after.at("incarnation").get<uint32_t>() > before.at("incarnation").get<uint32_t>() &&
           after.at("restarts_manual").get<uint32_t>() ==
               before.at("restarts_manual").get<uint32_t>() + 1;
  }));
  INFO(after.dump());
  CHECK(after.at("restarts_crash") == 0);
}

TEST_CASE("crash inventory makes the supervisor restart it", "[console]") {
  running_server server;
  REQUIRE(server.status_of("inventory").at("restarts_crash") == 0);

  json reply = server.command("crash inventory");
  INFO(reply.dump());
  REQUIRE(reply.at("ok") == true);

  json after;
  CHECK(eventually([&] {
    after = server.status_of("inventory");
    return after.at("restarts_crash") == 1 && after.at("state") == "running";
  }));
  INFO(after.dump());
  CHECK(after.at("incarnation").get<uint32_t>() >= 2);
}

// A second crash within restart_period waits out the supervisor's backoff: status says when the
// agent comes back, in its JSON and in the table's UPTIME column.
TEST_CASE("status shows when an agent waiting out its restart backoff comes back", "[console]") {
  running_server server([](config& c) {
    c.supervisor.backoff_min = 30s;
    c.supervisor.backoff_max = 30s;
    c.supervisor.backoff_jitter = 0;
  });
  CHECK(server.status_of("inventory").at("restart_in_ms").is_null());
  REQUIRE(server.command("crash inventory").at("ok") == true);  // restarted at once
  REQUIRE(eventually([&] {
    const auto s = server.status_of("inventory");
    return s.at("state") == "running" && s.at("incarnation") == 2;
  }));
  REQUIRE(server.command("crash inventory").at("ok") == true);  // restarted after 30 s
  json row;
  REQUIRE(eventually([&] {
    row = server.status_of("inventory");
    return row.at("restart_in_ms").is_number();
  }));
  INFO(row.dump());
  CHECK(row.at("state") == "restarting");
  CHECK(row.at("restart_in_ms").get<int64_t>() > 25000);
  CHECK(row.at("restart_in_ms").get<int64_t>() <= 30000);
  const auto table = console::render_reply(send_admin_command(server.socket_path(), "status")).text;
  CHECK_THAT(table, Catch::Contains("back in 2"));  // "back in 29s"
  REQUIRE(server.command("restart inventory").at("ok") == true);  // an operator's restart: now
  CHECK(eventually([&] {
    const auto s = server.status_of("inventory");
    return s.at("state") == "running" && s.at("restart_in_ms").is_null();
  }));
}

TEST_CASE("bad command lines get an error reply, and the connection stays usable", "[console]") {
  running_server server;

  json unknown = server.command("frobnicate now");
  CHECK(unknown.at("ok") == false);
  CHECK(unknown.at("error") == "unknown command 'frobnicate'; try 'help'");

  json missing = server.command("restart");
  CHECK(missing.at("ok") == false);
  CHECK_THAT(missing.at("error").get<std::string>(),
             Catch::Contains("missing argument") && Catch::Contains("restart <name>"));

  json no_agent = server.command("agent nosuch");
  CHECK(no_agent.at("ok") == false);
  CHECK(no_agent.at("error") == "unknown agent 'nosuch'");
  CHECK(no_agent.at("code") == "not_found");

  json bad_hang = server.command("hang order forever");
  CHECK(bad_hang.at("ok") == false);

  CHECK(server.result("agent order").at("agent") == "order");
}

TEST_CASE("log-level shows and sets the server's log level", "[console]") {
  running_server server;
  log_level_guard restore;

  CHECK(server.result("log-level debug").at("level") == "debug");
  CHECK(log::current_level() == log::level::debug);
  CHECK(server.result("log-level").at("level") == "debug");

  CHECK(server.command("log-level loud").at("ok") == false);
  CHECK(server.result("log-level info").at("level") == "info");
  CHECK(log::current_level() == log::level::info);
}

TEST_CASE("help, agents, metrics and config answer", "[console]") {
  running_server server;

  json help = server.result("help");
  for (const char* name : {"help", "status", "agents", "agent", "restart", "stop", "start", "crash",
                           "hang", "metrics", "log-level", "config", "shutdown"}) {
    INFO(name);
    CHECK(std::any_of(help.begin(), help.end(),
                      [&](const json& c) { return c.at("command") == name; }));
  }

  json agents = server.result("agents");
  REQUIRE(agents.size() == 26);
  CHECK(agents.at(0).at("name") == agent_registry().at(0).name);
  CHECK(agents.at(0).at("schema") == agent_registry().at(0).schema);

  CHECK_THAT(server.result("metrics").get<std::string>(),
             Catch::Contains("mercato_http_requests_total"));
  CHECK_THAT(server.result("config").get<std::string>(), Catch::Contains(server.socket_path()));
}

TEST_CASE("stop and start take an agent out and back", "[console]") {
  running_server server;
  REQUIRE(server.command("stop product").at("ok") == true);
  CHECK(server.status_of("product").at("state") == "stopped");
  CHECK(server.command("start product").at("ok") == true);
  CHECK(eventually([&] { return server.status_of("product").at("state") == "running"; }));
}

TEST_CASE("shutdown over the console stops the server cleanly", "[console]") {
  running_server server;
  json reply = server.command("shutdown");
  INFO(reply.dump());
  REQUIRE(reply.at("ok") == true);
  CHECK(eventually([&] { return server.finished(); }, 10s));
  CHECK(server.exit_code() == 0);
  CHECK_FALSE(std::filesystem::exists(server.socket_path()));
}

TEST_CASE("console_format renders the live status as a table naming every agent", "[console]") {
  running_server server;
  console::rendered_reply rendered =
      console::render_reply(send_admin_command(server.socket_path(), "status"));
  REQUIRE(rendered.ok);
  CHECK_THAT(rendered.text, Catch::StartsWith("AGENT") && Catch::Contains("RESTARTS (C/H/M)"));
  for (const agent_spec& spec : agent_registry()) {
    INFO(spec.name);
    CHECK_THAT(rendered.text, Catch::Contains(std::string{spec.name} + " "));
  }
  CHECK(std::count(rendered.text.begin(), rendered.text.end(), '\n') == 27);  // header + 26

  console::rendered_reply error = console::render_reply(R"({"ok":false,"error":"nope"})");
  CHECK_FALSE(error.ok);
  CHECK(error.text == "error: nope\n");
  CHECK(console::render_reply(R"({"ok":true,"command":"stop","result":{"message":"stopped"}})")
            .text == "ok: stopped\n");
  CHECK(console::format_duration_ms(75000) == "1m15s");
  CHECK(console::format_duration_ms(7380000) == "2h03m");
}

TEST_CASE("the admin socket replaces a stale file and removes it on stop", "[console]") {
  temp_socket_path temp;
  const std::filesystem::path& path = temp.path;
  std::filesystem::create_directories(path.parent_path());
  {  // a socket file nobody listens on, as a killed server leaves it
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, path.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    ::close(fd);
  }
  REQUIRE(std::filesystem::is_socket(path));
  {
    standalone_admin admin{path.string()};
    CHECK(send(path.string(), "help").at("ok") == true);
    json status = send(path.string(), "status");  // no supervisor behind this one
    CHECK(status.at("ok") == false);
    CHECK(status.at("code") == "unavailable");
  }
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK_THROWS_AS(send_admin_command(path.string(), "help"), admin_unreachable);
}

TEST_CASE("the admin socket never replaces a file that is not a socket", "[console]") {
  temp_socket_path path;
  std::filesystem::create_directories(path.path.parent_path());
  { std::ofstream{path.path} << "precious"; }
  boost::asio::io_context io;
  admin_server server{io, path.str(), admin_dependencies{}};
  CHECK_THROWS_WITH(server.start(), Catch::Contains("is not a socket"));
  CHECK(std::filesystem::is_regular_file(path.path));
}

TEST_CASE("a second server refuses a socket that is in use", "[console]") {
  temp_socket_path path;
  standalone_admin first{path.str()};
  boost::asio::io_context io;
  admin_server second{io, path.str(), admin_dependencies{}};
  CHECK_THROWS_WITH(second.start(), "another server is already listening on " + path.str());
  CHECK(send(path.str(), "help").at("ok") == true);  // the first one is untouched
}

TEST_CASE("a command line over 4 KiB is refused", "[console]") {
  temp_socket_path path;
  standalone_admin admin{path.str()};
  json reply = send(path.str(), "agent " + std::string(5000, 'x'));
  CHECK(reply.at("ok") == false);
  CHECK_THAT(reply.at("error").get<std::string>(), Catch::Contains("longer than 4096"));
  CHECK(send(path.str(), "help").at("ok") == true);  // only that connection was closed
}
