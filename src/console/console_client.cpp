// `mercato console` (see console_client.hpp): option parsing, the socket exchange, the prompt.
#include "console/console_client.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <vector>

#include <editline/readline.h>

#include "config/config.hpp"
#include "console/console_format.hpp"

namespace mercato {

namespace {

constexpr const char* default_socket_path = "var/mercato.sock";
constexpr const char* socket_env = "MERCATO_ADMIN_SOCKET";
constexpr const char* history_name = ".mercato_console_history";
constexpr int history_size = 1000;
constexpr int reply_timeout_seconds = 30;  // the server itself gives up on the supervisor after 5 s

constexpr const char* usage_text =
    "usage: mercato console [options] [command [args...]]\n"
    "\n"
    "Talks to a running server over its admin socket. With a command, runs it and exits\n"
    "(0 ok, 1 the command failed, 2 the server is not reachable); without one, opens a prompt.\n"
    "\n"
    "options:\n"
    "  --socket PATH   admin socket (default: admin.socket_path of --config, else\n"
    "                  $MERCATO_ADMIN_SOCKET, else var/mercato.sock)\n"
    "  --config FILE   read the socket path from this config file\n"
    "  --json          print the server's JSON reply line as is\n"
    "  -h, --help      this text\n"
    "\n"
    "Run `mercato console help` for the server's commands.\n";

// Closes the descriptor when leaving scope.
class socket_fd {
 public:
  explicit socket_fd(int fd) : fd_(fd) {}
  ~socket_fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  socket_fd(const socket_fd&) = delete;
  socket_fd& operator=(const socket_fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string unreachable_message(const std::string& path, const std::string& why) {
  return "cannot reach the admin socket " + path + ": " + why +
         " (is the server running? see --socket)";
}

int connect_admin(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path))
    throw admin_unreachable(unreachable_message(path, "invalid socket path length"));
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw admin_unreachable(unreachable_message(path, std::strerror(errno)));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    int error = errno;
    ::close(fd);
    throw admin_unreachable(unreachable_message(path, std::strerror(error)));
  }
  return fd;
}

void send_all(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw std::runtime_error(std::string{"sending to the admin socket failed: "} +
                               std::strerror(errno));
    sent += static_cast<size_t>(n);
  }
}

std::string receive_line(int fd) {
  std::string reply;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      throw std::runtime_error("no reply from the server within " +
                               std::to_string(reply_timeout_seconds) + " s");
    if (n < 0)
      throw std::runtime_error(std::string{"reading from the admin socket failed: "} +
                               std::strerror(errno));
    if (n == 0) throw std::runtime_error("the server closed the connection without a reply");
    reply.append(buffer, static_cast<size_t>(n));
    if (auto end = reply.find('\n'); end != std::string::npos) return reply.substr(0, end);
  }
}

struct console_options {
  std::string socket_path;
  std::string config_file;
  bool json = false;
  bool help = false;
  std::string command;  // the words after the options, joined by spaces; empty: interactive
};

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

console_options parse_options(int argc, char** argv) {
  console_options options;
  bool options_done = false;
  auto value_of = [&](int& i, const std::string& arg, const std::string& name) {
    if (arg.size() > name.size() && arg.compare(0, name.size() + 1, name + "=") == 0)
      return arg.substr(name.size() + 1);
    if (i + 1 >= argc) throw usage_error(name + " needs a value");
    return std::string{argv[++i]};
  };
  auto is_option = [](const std::string& arg, const std::string& name) {
    return arg == name || arg.rfind(name + "=", 0) == 0;
  };
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (options_done || arg.empty() || arg[0] != '-') {
      if (!options.command.empty()) options.command += ' ';
      options.command += arg;
    } else if (arg == "--") {
      options_done = true;
    } else if (arg == "-h" || arg == "--help") {
      options.help = true;
    } else if (arg == "--json") {
      options.json = true;
    } else if (is_option(arg, "--socket")) {
      options.socket_path = value_of(i, arg, "--socket");
    } else if (is_option(arg, "--config")) {
      options.config_file = value_of(i, arg, "--config");
    } else {
      throw usage_error("unknown option '" + arg + "'");
    }
  }
  return options;
}

std::string resolve_socket_path(const console_options& options) {
  if (!options.socket_path.empty()) return options.socket_path;
  if (!options.config_file.empty()) return load_config_file(options.config_file).admin.socket_path;
  if (const char* env = std::getenv(socket_env); env && *env) return env;
  return default_socket_path;
}

// Runs one command and prints its reply: stdout when it succeeded, stderr when not.
int execute(const std::string& socket_path, const std::string& line, bool json) {
  std::string reply;
  try {
    reply = send_admin_command(socket_path, line);
  } catch (const admin_unreachable& e) {
    std::cerr << "mercato console: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "mercato console: " << e.what() << '\n';
    return 1;
  }
  console::rendered_reply rendered = console::render_reply(reply);
  if (json)
    (rendered.ok ? std::cout : std::cerr) << reply << '\n';
  else
    (rendered.ok ? std::cout : std::cerr) << rendered.text;
  return rendered.ok ? 0 : 1;
}

std::string trim(const std::string& text) {
  const char* blanks = " \t\r\n";
  size_t begin = text.find_first_not_of(blanks);
  if (begin == std::string::npos) return {};
  return text.substr(begin, text.find_last_not_of(blanks) - begin + 1);
}

std::string history_path() {
  const char* home = std::getenv("HOME");
  return home && *home ? std::string{home} + "/" + history_name : std::string{};
}

int interactive(const std::string& socket_path, bool json) {
  try {
    socket_fd probe{connect_admin(socket_path)};  // fail now rather than at the first command
  } catch (const admin_unreachable& e) {
    std::cerr << "mercato console: " << e.what() << '\n';
    return 2;
  }
  const std::string history = history_path();
  using_history();
  stifle_history(history_size);
  if (!history.empty()) read_history(history.c_str());

  std::cout << "mercato console on " << socket_path
            << "; 'help' lists the commands, 'quit' leaves.\n";
  for (;;) {
    char* raw = readline("mercato> ");
    if (!raw) {  // EOF (Ctrl-D)
      std::cout << '\n';
      break;
    }
    std::string line = trim(raw);
    std::free(raw);
    if (line.empty()) continue;
    add_history(line.c_str());
    if (line == "quit" || line == "exit") break;
    int code = execute(socket_path, line, json);
    if (line == "help" && code == 0) std::cout << "(quit or exit leaves the console)\n";
    if (line == "shutdown" && code == 0) break;  // nothing left to talk to
  }
  if (!history.empty()) write_history(history.c_str());
  return 0;
}

}  // namespace

std::string send_admin_command(const std::string& socket_path, const std::string& line) {
  if (line.find('\n') != std::string::npos)
    throw std::runtime_error("a command cannot contain a line break");
  socket_fd fd{connect_admin(socket_path)};
  timeval timeout{reply_timeout_seconds, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  send_all(fd.get(), line + '\n');
  return receive_line(fd.get());
}

int run_console(int argc, char** argv) {
  console_options options;
  std::string socket_path;
  try {
    options = parse_options(argc, argv);
    if (options.help) {
      std::cout << usage_text;
      return 0;
    }
    socket_path = resolve_socket_path(options);
  } catch (const usage_error& e) {
    std::cerr << "mercato console: " << e.what() << "\n\n" << usage_text;
    return 1;
  } catch (const std::exception& e) {  // e.g. a bad --config file
    std::cerr << "mercato console: " << e.what() << '\n';
    return 1;
  }
  if (options.command.empty()) return interactive(socket_path, options.json);
  return execute(socket_path, options.command, options.json);
}

}  // namespace mercato
