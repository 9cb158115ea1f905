// A small blocking HTTP/1.1 client for the HTTP tests (Boost.Beast over 127.0.0.1): one-shot
// requests, a keep-alive connection, and raw byte exchanges for malformed or slow clients.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mercato::test {

using namespace std::chrono_literals;

// Request headers, sent in this order (duplicates allowed).
using request_headers = std::vector<std::pair<std::string, std::string>>;

struct http_result {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-cased names; repeated fields joined by ", "
  std::string body;

  // Value of the header `name` (any case), or "" when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

// What a raw exchange got back.
struct raw_reply {
  std::string bytes;            // everything the server sent
  bool closed_by_server = false;  // EOF or reset seen (false: the timeout expired first)
};

// One TCP connection to 127.0.0.1:port, used for any number of requests (keep-alive). Every
// operation is bounded by the connection's timeout; a failure or timeout throws
// std::runtime_error (after a timeout the socket is closed and the connection unusable).
class http_connection {
 public:
  explicit http_connection(uint16_t port, std::chrono::milliseconds timeout = 5s);
  ~http_connection();
  http_connection(const http_connection&) = delete;
  http_connection& operator=(const http_connection&) = delete;

  // Sends one request (Host, and Content-Length when there is a body, are added) and reads the
  // whole response.
  http_result request(std::string method, std::string target, std::string body = "",
                      const request_headers& headers = {});
  // Writes `bytes` exactly as given.
  void send_raw(std::string_view bytes);
  // Reads whatever the server sends until it closes the connection or `within` elapses.
  raw_reply read_until_close(std::chrono::milliseconds within);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// One request on a fresh connection.
http_result request(uint16_t port, std::string method, std::string target, std::string body = "",
                    const request_headers& headers = {});

// Connects, writes `bytes`, then reads until the server closes or `timeout` expires.
raw_reply raw_send(uint16_t port, std::string_view bytes, std::chrono::milliseconds timeout);
// raw_send's bytes only.
std::string raw_exchange(uint16_t port, std::string bytes, std::chrono::milliseconds timeout);

// Splits raw bytes into the HTTP responses they hold (a truncated last one is left out).
std::vector<http_result> parse_responses(std::string_view raw);

}  // namespace mercato::test
