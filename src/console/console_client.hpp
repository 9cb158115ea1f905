// `mercato console`: the admin socket's command-line client, one command or an interactive prompt.
// Plain POSIX sockets, no Asio: the client stays light.
#pragma once

#include <stdexcept>
#include <string>

namespace mercato {

// Nobody answers on the socket path (no file, no listener, no permission, path too long).
struct admin_unreachable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Sends one command line and returns the server's reply line (JSON, without the '\n').
// Throws admin_unreachable when it cannot connect, std::runtime_error when the exchange fails.
std::string send_admin_command(const std::string& socket_path, const std::string& line);

// `mercato console [--socket PATH] [--config FILE] [--json] [command...]`; argv holds only the
// arguments after "console". Exit code: 0 ok, 1 the command failed (or bad usage), 2 the server
// could not be reached.
int run_console(int argc, char** argv);

}  // namespace mercato
