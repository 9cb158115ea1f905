// The admin console's server side: a Unix domain socket (mode 0600) speaking a line protocol.
// Each request is one command line ("restart order"); each reply is one line of JSON:
//   {"ok":true,"command":"restart","result":<value>}   or   {"ok":false,"error":"..."}
// The command table is in admin_server.cpp (`help` returns it); `mercato console` renders replies.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "mercato/supervisor_actor.hpp"

namespace boost::asio {
class io_context;
}
namespace caf {
class actor_system;
}

namespace mercato {

class agent_directory;
class http_metrics;
struct config;

struct admin_dependencies {
  caf::actor_system* system = nullptr;
  supervisor_actor supervisor;
  agent_directory* directory = nullptr;
  const http_metrics* metrics = nullptr;
  const config* settings = nullptr;
  std::function<void()> request_shutdown;  // graceful stop of the whole server
};

class admin_server {
 public:
  admin_server(boost::asio::io_context& io, std::string socket_path, admin_dependencies deps);
  ~admin_server();

  // Binds the socket (replacing a stale file), chmods it 0600 and starts accepting.
  // Throws std::runtime_error naming the path on failure.
  void start();
  // Stops accepting, closes client connections and removes the socket file.
  void stop();

  const std::string& socket_path() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace mercato
