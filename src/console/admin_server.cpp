// The admin console's server side (see admin_server.hpp): the Unix socket, one strand per client,
// the command table, and the non-blocking bridge from Asio to the supervisor actor.
#include "console/admin_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <istream>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "log/log.hpp"
#include "mercato/agent_directory.hpp"
#include "runtime/metrics.hpp"

namespace mercato {

namespace {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
using nlohmann::json;

constexpr size_t max_line_bytes = 4096;
constexpr auto supervisor_timeout = std::chrono::seconds(5);
constexpr uint32_t default_hang_ms = 5000;
constexpr uint32_t max_hang_ms = 600000;

// ---- command results ------------------------------------------------------------------------

// What a command produced; turned into the reply line by `reply_line`.
struct outcome {
  bool ok = true;
  json result;                        // ok: the command's result
  std::string code;                   // !ok: bad_request|not_found|conflict|forbidden|unavailable
  std::string error;                  // !ok: the message shown to the operator
  std::function<void()> after_reply;  // runs once the reply is written (shutdown)
};

outcome succeeded(json result) {
  outcome o;
  o.result = std::move(result);
  return o;
}

outcome failed(std::string code, std::string message) {
  outcome o;
  o.ok = false;
  o.code = std::move(code);
  o.error = std::move(message);
  return o;
}

std::string reply_line(const std::string& command, const outcome& o) {
  json reply = o.ok ? json{{"ok", true}, {"command", command}, {"result", o.result}}
                    : json{{"ok", false}, {"error", o.error}, {"code", o.code}};
  // Agent names and reasons come from the operator: never let bad UTF-8 break the reply.
  return reply.dump(-1, ' ', false, json::error_handler_t::replace) + '\n';
}

using done_fn = std::function<void(outcome)>;

// Everything a command may use; shared by the listener and every connection.
using context_ptr = std::shared_ptr<const admin_dependencies>;
using args_t = std::vector<std::string>;

// ---- JSON views of agents -------------------------------------------------------------------

// The agent's legacy port, or null when legacy ports are off or ephemeral (not known here).
json legacy_port(const admin_dependencies& deps, const agent_entry& entry) {
  const config* settings = deps.settings;
  if (!settings || !settings->gateway.legacy_ports || settings->gateway.legacy_port_base == 0)
    return nullptr;
  return settings->gateway.legacy_port_base + entry.spec().port_offset;
}

json agent_summary(const admin_dependencies& deps, const agent_entry& entry) {
  return {{"name", entry.name()},
          {"port", legacy_port(deps, entry)},
          {"prefix", entry.spec().prefix},
          {"schema", entry.spec().schema},
          {"state", to_string(entry.state())}};
}

json status_json(const admin_dependencies& deps, const child_status& s) {
  json j = {{"agent", s.agent},
            {"state", s.state},
            {"restart_type", s.restart_type},
            {"mode", s.mode},
            {"incarnation", s.incarnation},
            {"restarts", s.restarts},
            {"restarts_crash", s.restarts_crash},
            {"restarts_hang", s.restarts_hang},
            {"restarts_manual", s.restarts_manual},
            {"uptime_ms", s.uptime_ms},
            {"last_ping_us", s.last_ping_us < 0 ? json(nullptr) : json(s.last_ping_us)},
            {"mailbox_size", s.mailbox_size},
            {"last_exit_reason", s.last_exit_reason},
            {"port", nullptr},
            {"prefix", nullptr},
            {"restart_in_ms", nullptr}};
  if (const agent_entry* entry = deps.directory ? deps.directory->find(s.agent) : nullptr) {
    j["port"] = legacy_port(deps, *entry);
    j["prefix"] = entry->spec().prefix;
    if (const auto left = entry->restart_in()) j["restart_in_ms"] = left->count();
  }
  return j;
}

// ---- asking the supervisor without blocking an Asio thread ---------------------------------

// A short-lived actor makes the request and terminates once its response handler has run.
// `convert` runs on a CAF worker; `done` must hand over to the connection's strand itself.
template <class Result, class Convert, class... Args>
void ask_supervisor(const context_ptr& ctx, done_fn done, Convert convert, Args... args) {
  caf::actor_system* system = ctx->system;
  if (!system || !ctx->supervisor) {
    done(failed("unavailable", "the supervisor is not available"));
    return;
  }
  system->spawn([system, supervisor = ctx->supervisor, done, convert,
                 args...](caf::event_based_actor* self) {
    self->request(supervisor, supervisor_timeout, args...)
        .then([done, convert](Result& r) { done(convert(r)); },
              [done, system](caf::error& e) {
                done(failed("unavailable", "the supervisor did not answer: " + system->render(e)));
              });
  });
}

outcome from_control_reply(const control_reply& r) {
  if (!r.ok) return failed(r.code.empty() ? "conflict" : r.code, r.message);
  return succeeded({{"message", r.message}});
}

// ---- commands -------------------------------------------------------------------------------

struct command {
  std::string_view name;
  std::string_view usage;
  std::string_view description;
  size_t min_args;
  size_t max_args;
  bool audited;  // changes the server: logged at info level
  void (*run)(const context_ptr& ctx, const args_t& args, done_fn done);
};

const std::vector<command>& command_table();

// The agent named by args[0], or nullptr after answering "unknown agent".
const agent_entry* find_agent(const admin_dependencies& deps, const args_t& args,
                              const done_fn& done) {
  const agent_entry* entry = deps.directory ? deps.directory->find(args[0]) : nullptr;
  if (!entry) done(failed("not_found", "unknown agent '" + args[0] + "'"));
  return entry;
}

std::string join(const args_t& words, size_t from) {
  std::string out;
  for (size_t i = from; i < words.size(); ++i) {
    if (!out.empty()) out += ' ';
    out += words[i];
  }
  return out;
}

void run_help(const context_ptr&, const args_t&, done_fn done) {
  json list = json::array();
  for (const command& c : command_table())
    list.push_back({{"command", c.name}, {"usage", c.usage}, {"description", c.description}});
  done(succeeded(std::move(list)));
}

void run_status(const context_ptr& ctx, const args_t&, done_fn done) {
  ask_supervisor<std::vector<child_status>>(
      ctx, std::move(done),
      [ctx](const std::vector<child_status>& all) {
        json rows = json::array();
        for (const child_status& s : all) rows.push_back(status_json(*ctx, s));
        return succeeded(std::move(rows));
      },
      child_status_atom::value, std::string{});
}

void run_agents(const context_ptr& ctx, const args_t&, done_fn done) {
  json rows = json::array();
  if (agent_directory* dir = ctx->directory)
    for (size_t i = 0; i < dir->size(); ++i) rows.push_back(agent_summary(*ctx, dir->at(i)));
  done(succeeded(std::move(rows)));
}

void run_agent(const context_ptr& ctx, const args_t& args, done_fn done) {
  const agent_entry* entry = find_agent(*ctx, args, done);
  if (!entry) return;
  ask_supervisor<std::vector<child_status>>(
      ctx, std::move(done),
      [ctx, entry](const std::vector<child_status>& found) {
        // No row: the supervisor does not know it (yet); the directory still does.
        json j = found.empty() ? agent_summary(*ctx, *entry) : status_json(*ctx, found.front());
        j["schema"] = entry->spec().schema;
        j["title"] = entry->spec().title;
        return succeeded(std::move(j));
      },
      child_status_atom::value, args[0]);
}

void run_restart(const context_ptr& ctx, const args_t& args, done_fn done) {
  if (!find_agent(*ctx, args, done)) return;
  std::string reason = args.size() > 1 ? join(args, 1) : "console";
  ask_supervisor<control_reply>(ctx, std::move(done), from_control_reply, restart_atom::value,
                                args[0], std::move(reason));
}

// stop / start: the supervisor's `Atom, agent` -> control_reply.
template <class Atom>
void run_control(const context_ptr& ctx, const args_t& args, done_fn done) {
  if (!find_agent(*ctx, args, done)) return;
  ask_supervisor<control_reply>(ctx, std::move(done), from_control_reply, Atom::value, args[0]);
}

void inject(const context_ptr& ctx, const std::string& agent, std::string kind, uint32_t millis,
            done_fn done) {
  ask_supervisor<control_reply>(ctx, std::move(done), from_control_reply, inject_atom::value, agent,
                                std::move(kind), millis);
}

void run_crash(const context_ptr& ctx, const args_t& args, done_fn done) {
  if (!find_agent(*ctx, args, done)) return;
  inject(ctx, args[0], "throw", 0, std::move(done));
}

void run_hang(const context_ptr& ctx, const args_t& args, done_fn done) {
  if (!find_agent(*ctx, args, done)) return;
  uint32_t millis = default_hang_ms;
  if (args.size() > 1) {
    const std::string& text = args[1];
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), millis);
    if (ec != std::errc{} || end != text.data() + text.size() || millis == 0 ||
        millis > max_hang_ms) {
      done(failed("bad_request", "hang duration must be 1.." + std::to_string(max_hang_ms) +
                                     " milliseconds, got '" + text + "'"));
      return;
    }
  }
  inject(ctx, args[0], "hang", millis, std::move(done));
}

void run_metrics(const context_ptr& ctx, const args_t&, done_fn done) {
  if (!ctx->metrics || !ctx->directory) {
    done(failed("unavailable", "metrics are not available"));
    return;
  }
  done(succeeded(ctx->metrics->render_prometheus(*ctx->directory)));
}

void run_log_level(const context_ptr&, const args_t& args, done_fn done) {
  const std::string previous{log::to_string(log::current_level())};
  if (args.empty()) {
    done(succeeded({{"level", previous}}));
    return;
  }
  std::optional<log::level> level = log::parse_level(args[0]);
  if (!level) {
    done(failed("bad_request",
                "unknown log level '" + args[0] + "'; use trace, debug, info, warn, error or off"));
    return;
  }
  log::set_level(*level);
  // Written at warn so that the change is visible even when the new level is quieter.
  log::warn("admin", "log_level_changed",
            {{"previous", previous}, {"level", log::to_string(*level)}});
  done(succeeded({{"level", log::to_string(*level)}, {"previous", previous}}));
}

void run_config(const context_ptr& ctx, const args_t&, done_fn done) {
  if (!ctx->settings) {
    done(failed("unavailable", "the configuration is not available"));
    return;
  }
  done(succeeded(render_config(*ctx->settings)));
}

void run_shutdown(const context_ptr& ctx, const args_t&, done_fn done) {
  if (!ctx->request_shutdown) {
    done(failed("unavailable", "shutdown is not available"));
    return;
  }
  outcome o = succeeded({{"message", "shutting down"}});
  o.after_reply = ctx->request_shutdown;  // after the write, so the client sees the reply
  done(std::move(o));
}

constexpr size_t unlimited = std::numeric_limits<size_t>::max();

const std::vector<command>& command_table() {
  static const std::vector<command> table = {
      {"help", "help", "list the commands", 0, 0, false, run_help},
      {"status", "status", "supervisor view of every agent: state, restarts, uptime, ping", 0, 0,
       false, run_status},
      {"agents", "agents", "the agents with port, prefix, schema and state", 0, 0, false,
       run_agents},
      {"agent", "agent <name>", "everything known about one agent", 1, 1, false, run_agent},
      {"restart", "restart <name> [reason...]", "stop the agent and start a new incarnation", 1,
       unlimited, true, run_restart},
      {"stop", "stop <name>", "stop the agent (it stays stopped until `start`)", 1, 1, true,
       run_control<stop_atom>},
      {"start", "start <name>", "start a stopped or failed agent", 1, 1, true,
       run_control<start_atom>},
      {"crash", "crash <name>", "make the agent throw (needs admin.fault_injection)", 1, 1, true,
       run_crash},
      {"hang", "hang <name> [millis]",
       "block the agent, default 5000 ms, max 600000 (needs admin.fault_injection)", 1, 2, true,
       run_hang},
      {"metrics", "metrics", "the Prometheus metrics text", 0, 0, false, run_metrics},
      {"log-level", "log-level [level]",
       "show or set the log level (trace|debug|info|warn|error|off)", 0, 1, false, run_log_level},
      {"config", "config", "the effective configuration as TOML", 0, 0, false, run_config},
      {"shutdown", "shutdown", "stop the server gracefully", 0, 0, true, run_shutdown},
  };
  return table;
}

args_t split_words(const std::string& line) {
  args_t words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) words.emplace_back(line, start, i - start);
  }
  return words;
}

// Parses and runs one command line; `finish` receives the reply line (possibly on a CAF thread).
void run_command(const context_ptr& ctx, const std::string& line,
                 std::function<void(std::string reply, std::function<void()> after)> finish) {
  args_t words = split_words(line);
  auto answer = [finish](const std::string& name) {
    return [finish, name](outcome o) { finish(reply_line(name, o), std::move(o.after_reply)); };
  };
  if (words.empty()) {
    answer("")(failed("bad_request", "empty command; try 'help'"));
    return;
  }
  const std::string name = words.front();
  words.erase(words.begin());
  for (const command& c : command_table()) {
    if (c.name != name) continue;
    if (words.size() < c.min_args) {
      answer(name)(failed("bad_request", "missing argument; usage: " + std::string{c.usage}));
    } else if (words.size() > c.max_args) {
      answer(name)(failed("bad_request", "too many arguments; usage: " + std::string{c.usage}));
    } else {
      if (c.audited)
        log::info("admin", "console_command", {{"command", line}});
      else
        log::debug("admin", "console_command", {{"command", line}});
      c.run(ctx, words, answer(name));
    }
    return;
  }
  answer(name)(failed("bad_request", "unknown command '" + name + "'; try 'help'"));
}

// ---- connections ----------------------------------------------------------------------------

// One client: reads a line, answers it, reads the next; all on its own strand.
class admin_connection : public std::enable_shared_from_this<admin_connection> {
 public:
  admin_connection(local::socket socket, context_ptr ctx)
      : socket_(std::move(socket)), input_(max_line_bytes), ctx_(std::move(ctx)) {}

  void start() { read_line(); }

  // Thread-safe.
  void close() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close_now(); });
  }

 private:
  void read_line() {
    asio::async_read_until(
        socket_, input_, '\n',
        [self = shared_from_this()](boost::system::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(boost::system::error_code ec) {
    if (ec == asio::error::not_found) {  // no '\n' within max_line_bytes
      write(reply_line("", failed("bad_request", "command line longer than " +
                                                     std::to_string(max_line_bytes) + " bytes")),
            nullptr, true);
      return;
    }
    // A last line without '\n' before EOF still counts as a command.
    bool last = false;
    if (ec == asio::error::eof && input_.size() > 0) {
      last = true;
    } else if (ec) {
      close_now();
      return;
    }
    std::string line;
    std::istream in(&input_);
    std::getline(in, line);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    run_command(ctx_, line,
                [self = shared_from_this(), last](std::string reply, std::function<void()> after) {
                  asio::post(self->socket_.get_executor(),
                             [self, reply = std::move(reply), after = std::move(after), last]() {
                               self->write(reply, after, last);
                             });
                });
  }

  void write(std::string reply, std::function<void()> after, bool close_after) {
    output_ = std::move(reply);
    asio::async_write(socket_, asio::buffer(output_),
                      [self = shared_from_this(), after = std::move(after), close_after](
                          boost::system::error_code ec, size_t) {
                        if (after) after();
                        if (ec || close_after)
                          self->close_now();
                        else
                          self->read_line();
                      });
  }

  void close_now() {
    boost::system::error_code ignored;
    socket_.shutdown(local::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  local::socket socket_;
  asio::streambuf input_;
  std::string output_;
  context_ptr ctx_;
};

// ---- the listening socket -------------------------------------------------------------------

class admin_listener : public std::enable_shared_from_this<admin_listener> {
 public:
  admin_listener(asio::io_context& io, local::acceptor acceptor, context_ptr ctx)
      : io_(io), acceptor_(std::move(acceptor)), ctx_(std::move(ctx)) {}

  void accept_next() {
    acceptor_.async_accept(
        asio::make_strand(io_),
        [self = shared_from_this()](boost::system::error_code ec, local::socket socket) {
          self->on_accept(ec, std::move(socket));
        });
  }

  // Thread-safe and idempotent: closes the acceptor and every open connection.
  void stop() {
    std::lock_guard<std::mutex> guard{mutex_};
    if (stopped_) return;
    stopped_ = true;
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->acceptor_.close(ignored);
    });
    for (auto& weak : connections_)
      if (auto c = weak.lock()) c->close();
    connections_.clear();
  }

 private:
  void on_accept(boost::system::error_code ec, local::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      log::warn("admin", "accept_failed", {{"error", ec.message()}});
    } else {
      auto connection = std::make_shared<admin_connection>(std::move(socket), ctx_);
      {
        std::lock_guard<std::mutex> guard{mutex_};
        if (stopped_) return;  // the socket closes with `connection`
        connections_.erase(std::remove_if(connections_.begin(), connections_.end(),
                                          [](const auto& weak) { return weak.expired(); }),
                           connections_.end());
        connections_.push_back(connection);
      }
      connection->start();
    }
    std::lock_guard<std::mutex> guard{mutex_};
    if (!stopped_) accept_next();
  }

  asio::io_context& io_;
  local::acceptor acceptor_;  // its executor is a strand: accept and close never race
  context_ptr ctx_;
  std::mutex mutex_;  // guards stopped_ and connections_
  bool stopped_ = false;
  std::vector<std::weak_ptr<admin_connection>> connections_;
};

// Makes `path` bindable: creates its directory and removes a stale socket left by a crash.
void prepare_socket_path(asio::io_context& io, const std::string& path) {
  if (path.empty()) throw std::runtime_error("admin socket path is empty");
  if (path.size() >= sizeof(sockaddr_un::sun_path))
    throw std::runtime_error("admin socket path is too long (max " +
                             std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                             " bytes): " + path);
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code fs_ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, fs_ec);
  if (fs_ec)
    throw std::runtime_error("cannot create the directory of the admin socket " + path + ": " +
                             fs_ec.message());

  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw std::runtime_error("cannot inspect admin socket path " + path + ": " +
                             std::strerror(errno));
  }
  if (!S_ISSOCK(st.st_mode))
    throw std::runtime_error(path + " exists and is not a socket; refusing to replace it");
  // A socket file: stale unless a server still answers on it.
  local::socket probe(io);
  boost::system::error_code ec;
  probe.connect(local::endpoint(path), ec);
  if (!ec) throw std::runtime_error("another server is already listening on " + path);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    throw std::runtime_error("cannot remove the stale admin socket " + path + ": " +
                             std::strerror(errno));
}

local::acceptor bind_socket(asio::io_context& io, const std::string& path) {
  local::acceptor acceptor(asio::make_strand(io));
  boost::system::error_code ec;
  auto fail = [&](const char* what) {
    return std::runtime_error(std::string{"cannot "} + what + " admin socket " + path + ": " +
                              ec.message());
  };
  acceptor.open(local{}, ec);
  if (ec) throw fail("open");
  // umask 0177 makes bind create the file as 0600: no window in which others may connect.
  mode_t previous = ::umask(0177);
  acceptor.bind(local::endpoint(path), ec);
  ::umask(previous);
  if (ec) throw fail("bind");
  // Again explicitly: a default ACL on the directory would override the umask.
  if (::chmod(path.c_str(), 0600) != 0)
    ec.assign(errno, boost::system::system_category());
  else
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    ::unlink(path.c_str());
    throw fail("secure and listen on");
  }
  return acceptor;
}

}  // namespace

struct admin_server::impl {
  impl(asio::io_context& io, std::string path, admin_dependencies deps)
      : io(io),
        path(std::move(path)),
        ctx(std::make_shared<const admin_dependencies>(std::move(deps))) {}

  asio::io_context& io;
  std::string path;
  context_ptr ctx;
  std::mutex mutex;  // guards listener
  std::shared_ptr<admin_listener> listener;
};

admin_server::admin_server(boost::asio::io_context& io, std::string socket_path,
                           admin_dependencies deps)
    : impl_(std::make_unique<impl>(io, std::move(socket_path), std::move(deps))) {}

admin_server::~admin_server() {
  stop();
}

void admin_server::start() {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  if (impl_->listener) return;
  prepare_socket_path(impl_->io, impl_->path);
  impl_->listener =
      std::make_shared<admin_listener>(impl_->io, bind_socket(impl_->io, impl_->path), impl_->ctx);
  impl_->listener->accept_next();
  log::info("admin", "admin_socket_listening", {{"path", impl_->path}});
}

void admin_server::stop() {
  std::lock_guard<std::mutex> guard{impl_->mutex};
  if (!impl_->listener) return;
  impl_->listener->stop();
  impl_->listener.reset();
  ::unlink(impl_->path.c_str());  // unlinked now, so nobody can connect even before the close runs
  log::info("admin", "admin_socket_closed", {{"path", impl_->path}});
}

const std::string& admin_server::socket_path() const noexcept {
  return impl_->path;
}

}  // namespace mercato
