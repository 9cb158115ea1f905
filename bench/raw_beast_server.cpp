// Baseline for the /health throughput figure: a minimal raw Boost.Beast async HTTP/1.1 server in
// the style of Beast's http_server_async example (acceptor, one session per connection on its own
// strand, flat_buffer, request parser, keep-alive), with no CAF and no routing. It answers
// GET /health with a JSON body of the same shape and size as an agent's /health (~250 bytes,
// rendered per request like mercato's: uptime and timestamp change), anything else with 404.
//
//   raw_beast_server [--port P] [--threads N] [--address A]    (defaults 18999, 1, 127.0.0.1)
//
// Stops on SIGTERM / SIGINT. Same compile flags as mercato (BOOST_ASIO_NO_DEPRECATED,
// BOOST_BEAST_USE_STD_STRING_VIEW come from mercato_lib's PUBLIC definitions).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

const auto process_start = std::chrono::steady_clock::now();

// Same fields as an agent's /health body (src/runtime/agent_shell.cpp), same order and size class.
std::string health_body() {
  const double uptime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - process_start).count();
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch())
                      .count() %
                  1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  char buf[512];
  const int n = std::snprintf(
      buf, sizeof buf,
      "{\"status\":\"healthy\",\"agent_id\":\"product_agent\",\"agent\":\"product_agent\","
      "\"name\":\"product\",\"version\":\"0.1.0\",\"uptime_seconds\":%.3f,"
      "\"database\":\"not_configured\",\"restarts\":0,\"incarnation\":1,\"mode\":\"normal\","
      "\"timestamp\":\"%s\"}",
      uptime, stamp);
  return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

class session : public std::enable_shared_from_this<session> {
 public:
  explicit session(tcp::socket&& socket) : stream_(std::move(socket)) {}

  void run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&session::do_read, shared_from_this()));
  }

 private:
  void do_read() {
    parser_.emplace();  // a fresh parser per request (as mercato does)
    parser_->body_limit(1 << 20);
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return do_close();
    if (ec) return do_close();
    auto req = parser_->release();
    res_ = {};
    res_.version(req.version());
    res_.keep_alive(req.keep_alive());
    res_.set(http::field::server, "raw-beast");
    res_.set(http::field::content_type, "application/json");
    if (req.method() == http::verb::get && req.target() == "/health") {
      res_.result(http::status::ok);
      res_.body() = health_body();
    } else {
      res_.result(http::status::not_found);
      res_.body() = "{\"detail\":\"Not Found\"}";
    }
    res_.prepare_payload();
    http::async_write(stream_, res_,
                      beast::bind_front_handler(&session::on_write, shared_from_this(),
                                                res_.need_eof()));
  }

  void on_write(bool close, beast::error_code ec, std::size_t) {
    if (ec || close) return do_close();
    do_read();
  }

  void do_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
};

class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(net::io_context& ioc, const tcp::endpoint& endpoint)
      : ioc_(ioc), acceptor_(net::make_strand(ioc)) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }

  void run() { do_accept(); }

  void stop() {
    net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

 private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);  // mercato sets it too
      std::make_shared<session>(std::move(socket))->run();
    }
    if (acceptor_.is_open()) do_accept();
  }

  net::io_context& ioc_;
  tcp::acceptor acceptor_;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "raw_beast_server: %s\nusage: raw_beast_server [--port P] [--threads N] "
                       "[--address A]\n", why);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  unsigned port = 18999;
  int threads = 1;
  std::string address = "127.0.0.1";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const std::string& name) -> std::string {
      if (arg.rfind(name + "=", 0) == 0) return arg.substr(name.size() + 1);
      if (arg == name && i + 1 < argc) return argv[++i];
      usage(("missing value for " + name).c_str());
    };
    if (arg.rfind("--port", 0) == 0) port = static_cast<unsigned>(std::stoul(value("--port")));
    else if (arg.rfind("--threads", 0) == 0) threads = std::stoi(value("--threads"));
    else if (arg.rfind("--address", 0) == 0) address = value("--address");
    else usage(("unknown argument " + arg).c_str());
  }
  if (port == 0 || port > 65535) usage("port must be 1..65535");
  if (threads < 1 || threads > 64) usage("threads must be 1..64");

  net::io_context ioc{threads};
  std::shared_ptr<listener> l;
  try {
    l = std::make_shared<listener>(
        ioc, tcp::endpoint{net::ip::make_address(address), static_cast<unsigned short>(port)});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "raw_beast_server: cannot listen on %s:%u: %s\n", address.c_str(), port,
                 e.what());
    return 1;
  }
  l->run();

  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) {
    l->stop();
    ioc.stop();
  });

  std::fprintf(stderr, "raw_beast_server: listening on %s:%u with %d io thread(s)\n",
               address.c_str(), port, threads);
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  return 0;
}
